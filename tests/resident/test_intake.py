"""Intake: a hotline ticket opens one case however often (and however concurrently) it is reported;
a later report of the same open issue follows the original case."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RetryConfig, RPCError

from activities import notifications
from activities.cases import kept_residents
from activities.db import create_pool
from client import cases
from schemas.case import (
    Accept,
    Actor,
    CaseReport,
    Feedback,
    LinkReport,
    Reporter,
    ResidentRole,
    Resolve,
    Signoff,
    Withdraw,
)
from schemas.domain import Channel, Status
from tests.resident.conftest import NAME, PHONE, REPORTER
from tests.resident.test_feedback import resolve_at_council
from tests.waiting import eventually, projected
from workflows.case import CaseWorkflow
from workflows.case_state import token_hash


def hotline(ticket: str, compound: str, category: str = "NOISE", reporter: Reporter = REPORTER) -> CaseReport:
    return CaseReport(
        compound=compound,
        category=category,
        description="loud music every night after 23:00",
        channel=Channel.HOTLINE,
        external_id=ticket,
        reporter=reporter,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def intake_pool(database_url) -> AsyncIterator[asyncpg.Pool]:
    """The API's pool, apart from the worker's: reports waiting for an issue's lock each hold a connection."""
    pool = await create_pool(database_url, max_size=12)
    yield pool
    await pool.close()


async def report(resident, case_report: CaseReport, pool=None, **options) -> cases.ReportedCase:
    reported = await cases.report_case(
        resident.client, pool or resident.pool, case_report, task_queue=resident.task_queue, **options
    )
    if cases.workflow_id(reported.case_id) not in resident.started:
        resident.started.append(cases.workflow_id(reported.case_id))
    await cases.wait_until_open(resident.client, reported.case_id)  # the replay at teardown views every case
    return reported


async def test_the_same_ticket_twice_is_one_case(resident, pool):
    first = await report(resident, hotline("12345-0001", "HP-DF-QH-2"))
    again = await report(resident, hotline("12345-0001", "HP-DF-QH-2"))
    assert first.outcome is cases.IntakeOutcome.CREATED and first.token
    assert again.outcome is cases.IntakeOutcome.EXISTING and again.case_id == first.case_id and again.token is None
    view = await cases.wait_until_open(resident.client, first.case_id)
    assert view.external_id == "12345-0001" and view.reporters == 1
    await projected(pool, view)
    assert await pool.fetchval("SELECT count(*) FROM cases WHERE external_id = '12345-0001'") == 1


async def test_the_same_ticket_reported_concurrently_is_one_case(resident, pool):
    ticket = hotline("12345-0002", "HP-DF-YL-1")
    reported = await asyncio.gather(*(report(resident, ticket) for _ in range(6)))
    assert len({r.case_id for r in reported}) == 1
    outcomes = sorted(r.outcome for r in reported)
    assert outcomes == [cases.IntakeOutcome.CREATED] + [cases.IntakeOutcome.EXISTING] * 5
    view = await cases.wait_until_open(resident.client, reported[0].case_id)
    assert view.reporters == 1
    await projected(pool, view)
    assert await pool.fetchval("SELECT count(*) FROM cases WHERE external_id = '12345-0002'") == 1


async def test_a_ticket_bound_but_never_started_is_started_by_the_retry(resident, pool):
    """A crash between binding the ticket and starting the workflow: the retry opens that very case."""
    orphan = "WH-20260101-999999"
    await pool.execute("INSERT INTO intake_keys (key, case_id) VALUES ('HOTLINE:12345-0003', $1)", orphan)
    reported = await report(resident, hotline("12345-0003", "HP-XH-CH-1"))
    assert reported.case_id == orphan and reported.outcome is cases.IntakeOutcome.CREATED and reported.token
    view = await cases.wait_until_open(resident.client, orphan)
    handle = cases.case_handle(resident.client, orphan)
    assert await handle.query(CaseWorkflow.resident_access, reported.token) is ResidentRole.REPORTER
    await projected(pool, view)
    assert (await report(resident, hotline("12345-0003", "HP-XH-CH-1"))).outcome is cases.IntakeOutcome.EXISTING


async def test_a_duplicate_report_follows_the_open_case(resident, pool):
    handle, token = await resident.report(compound="HP-XH-MY-1", category="NOISE", reporter=REPORTER)
    await projected(pool, await resident.view(handle))
    follower = await report(
        resident, hotline("12345-0004", "HP-XH-MY-1", reporter=Reporter(name="李四", phone="13900001111"))
    )
    assert follower.outcome is cases.IntakeOutcome.LINKED and follower.case_id == handle.id.removeprefix("case-")
    assert follower.token and follower.token != token
    view = await resident.view(handle)
    assert view.reporters == 2 and view.linked_reports == ["HOTLINE 12345-0004 139****1111"]
    assert await handle.query(CaseWorkflow.resident_access, follower.token) is ResidentRole.FOLLOWER
    assert await handle.query(CaseWorkflow.resident_access, token) is ResidentRole.REPORTER
    await projected(pool, view)
    assert await pool.fetchval("SELECT reporters FROM cases WHERE case_id = $1", view.case_id) == 2
    assert await pool.fetchval("SELECT count(*) FROM cases WHERE compound = 'HP-XH-MY-1'") == 1
    async with pool.acquire() as connection:
        linked = [
            n for n in await notifications.outbox(connection, case_id=view.case_id) if n.topic == "DUPLICATE_LINKED"
        ]
    assert [n.recipient for n in linked] == ["PM-JINDI"] and linked[0].payload["details"]["reporters"] == 2
    assert "经12345热线再次上报" in linked[0].payload["text"] and "139" not in linked[0].payload["text"]
    assert "reporter" not in linked[0].payload["details"]

    owner = "PM-JINDI"  # the council of HP-XH-MY-1 resolves it
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org=owner)))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=Actor(org=owner), summary="talked to them"))
    view = await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=Actor(org="OC-HP-XH-MY-1"), agree=True))
    assert view.status is Status.RESOLVED
    with pytest.raises(WorkflowUpdateFailedError) as rejected:  # a follower may look, not judge
        await handle.execute_update(CaseWorkflow.feedback, Feedback(token=follower.token, satisfied=True, score=5))
    assert rejected.value.cause.type == "Forbidden"
    view = await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=5))
    assert view.status is Status.CLOSED


async def test_a_link_retried_after_a_crash_counts_its_reporter_once(resident, pool):
    """A crash between linking a ticket to the open case and recording the ticket: the retry links it again."""
    handle, token = await resident.report(compound="HP-XH-MY-2", category="NOISE", reporter=REPORTER)
    await projected(pool, await resident.view(handle))
    ticket = hotline("12345-0007", "HP-XH-MY-2", reporter=Reporter(name="王五", phone="13900002222"))
    lost = "the token of the attempt that crashed"  # the reporter never received it
    first_attempt = LinkReport(
        token_hash=token_hash(lost),
        channel=ticket.channel,
        external_id=ticket.external_id,
        reporter=ticket.reporter,
        intake_key=cases.intake_key(ticket, None),
    )
    await handle.execute_update(CaseWorkflow.link_report, first_attempt)

    retry = await report(resident, ticket)
    assert retry.outcome is cases.IntakeOutcome.LINKED and retry.case_id == handle.id.removeprefix("case-")
    view = await resident.view(handle)
    assert view.reporters == 2 and view.linked_reports == ["HOTLINE 12345-0007 139****2222"]
    assert [event.kind for event in view.timeline].count("DUPLICATE_LINKED") == 1
    assert await handle.query(CaseWorkflow.resident_access, retry.token) is ResidentRole.FOLLOWER
    assert await handle.query(CaseWorkflow.resident_access, lost) is None
    assert await handle.query(CaseWorkflow.resident_access, token) is ResidentRole.REPORTER
    assert (await report(resident, ticket)).outcome is cases.IntakeOutcome.EXISTING


async def test_a_report_cut_off_by_a_temporal_outage_links_once_when_retried(resident, pool):
    """Found by `whistle chaos`: Temporal failing while intake links a second report made intake open a second
    case for the same issue (the failure was taken for "this case takes no more reporters")."""
    handle, _ = await resident.report(compound="HP-XH-CH-2", category="CORRIDOR_CLUTTER", reporter=REPORTER)
    await projected(pool, await resident.view(handle))
    ticket = hotline("12345-0011", "HP-XH-CH-2", category="CORRIDOR_CLUTTER")
    async with Cut(resident.client.service_client.config.target_host) as cut:
        through_cut = await Client.connect(
            cut.address, data_converter=resident.client.data_converter, retry_config=RetryConfig(max_retries=0)
        )
        await through_cut.workflow_service.get_system_info(GetSystemInfoRequest())  # connected
        cut.close()  # Temporal is now unreachable for this client
        with pytest.raises(RPCError):
            await cases.report_case(through_cut, pool, ticket, task_queue=resident.task_queue)

    retry = await report(resident, ticket)
    assert retry.outcome is cases.IntakeOutcome.LINKED and retry.case_id == handle.id.removeprefix("case-")
    clutter = "SELECT count(*) FROM cases WHERE compound = 'HP-XH-CH-2' AND category = 'CORRIDOR_CLUTTER'"
    assert await pool.fetchval(clutter) == 1


class Cut:
    """A TCP relay to Temporal that can be cut: its connections are closed and new ones refused."""

    def __init__(self, target: str) -> None:
        self._host, port = target.rsplit(":", 1)
        self._port = int(port)
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> "Cut":
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.address = f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self._host, self._port)
        self._writers += [writer, upstream_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)


async def test_a_closed_case_takes_no_followers(resident, pool):
    handle, token = await resident.report(compound="HP-DF-QH-1", category="SEWER_BLOCKAGE", reporter=REPORTER)
    await resolve_at_council(handle)
    view = await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=5))
    await projected(pool, view)
    later = await report(resident, hotline("12345-0005", "HP-DF-QH-1", category="SEWER_BLOCKAGE"))
    assert later.outcome is cases.IntakeOutcome.CREATED and later.case_id != view.case_id


async def test_anonymous_report_refused_where_the_category_needs_a_name(resident, pool):
    before = await pool.fetchval("SELECT count(*) FROM intake_keys")
    anonymous = hotline("12345-0006", "HP-DF-YL-2", category="HOUSE_LEAK", reporter=Reporter(anonymous=True))
    with pytest.raises(ValueError, match="HOUSE_LEAK does not accept anonymous reports"):
        await report(resident, anonymous)
    assert await pool.fetchval("SELECT count(*) FROM intake_keys") == before
    allowed = await report(resident, anonymous.model_copy(update={"category": "NOISE"}))
    view = await cases.wait_until_open(resident.client, allowed.case_id)
    assert view.reporter.anonymous and view.reporter.phone is None
    assert PHONE not in view.model_dump_json()


def resident_report(compound: str, category: str, name: str = NAME) -> CaseReport:
    return CaseReport(
        compound=compound, category=category, description="楼道里堆满了杂物", reporter=Reporter(name=name)
    )


async def test_ten_simultaneous_reports_of_one_issue_open_one_case(resident, pool, intake_pool):
    reports = [resident_report("HP-DF-YL-2", "PARKING", name=f"居民{n}") for n in range(10)]
    reported = await asyncio.gather(*(report(resident, r, intake_pool) for r in reports))
    assert len({r.case_id for r in reported}) == 1
    assert sorted(r.outcome for r in reported) == [cases.IntakeOutcome.CREATED] + [cases.IntakeOutcome.LINKED] * 9
    assert len({r.token for r in reported}) == 10
    view = await cases.wait_until_open(resident.client, reported[0].case_id)
    assert view.reporters == 10 and len(view.linked_reports) == 9
    await projected(pool, view)
    assert await pool.fetchval("SELECT count(*) FROM cases WHERE compound = 'HP-DF-YL-2' AND category = 'PARKING'") == 1
    assert await pool.fetchval("SELECT reporters FROM cases WHERE case_id = $1", view.case_id) == 10


async def test_ten_simultaneous_reports_of_different_issues_open_ten_cases(resident, intake_pool):
    categories = ["FLYING_WIRE", "SEWER_BLOCKAGE", "CORRIDOR_CLUTTER", "PARKING", "LIFT_MAINTENANCE", "NOISE"]
    categories += ["COOKING_FUMES", "ILLEGAL_CONSTRUCTION", "FIRE_LANE_BLOCKED", "POULTRY"]
    reports = [resident_report("HP-XH-CH-2", category) for category in categories]
    reported = await asyncio.gather(*(report(resident, r, intake_pool) for r in reports))
    assert [r.outcome for r in reported] == [cases.IntakeOutcome.CREATED] * 10
    assert len({r.case_id for r in reported}) == 10


async def test_only_reports_of_the_same_issue_wait_for_each_other(resident, intake_pool):
    """The issue lock is (compound, category): while one report of an issue decides, another issue goes on."""
    held = resident_report("HP-DF-QH-2", "FLYING_WIRE")
    async with intake_pool.acquire() as connection, cases.issue_lock(connection, held):
        other = await asyncio.wait_for(report(resident, resident_report("HP-DF-QH-2", "PARKING"), intake_pool), 30)
        assert other.outcome is cases.IntakeOutcome.CREATED
        same = asyncio.create_task(report(resident, held, intake_pool))

        async def waiting_for_the_lock() -> bool:
            assert not same.done()
            waiting = """SELECT count(*) FROM pg_locks
                          WHERE locktype = 'advisory' AND NOT granted
                            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
            return await intake_pool.fetchval(waiting) == 1

        await eventually(waiting_for_the_lock, what="the report of the held issue to wait for its lock")
    assert (await asyncio.wait_for(same, 30)).outcome is cases.IntakeOutcome.CREATED


async def test_an_idempotency_key_is_its_intake_organisations_own(resident, pool):
    first = await report(resident, resident_report("HP-DF-QH-1", "POULTRY"), idempotency_key="k-1", caller_org="GRID-A")
    other = await report(resident, resident_report("HP-DF-QH-2", "POULTRY"), idempotency_key="k-1", caller_org="GRID-B")
    assert first.outcome is other.outcome is cases.IntakeOutcome.CREATED and other.case_id != first.case_id
    again = await report(resident, resident_report("HP-DF-QH-1", "POULTRY"), idempotency_key="k-1", caller_org="GRID-A")
    assert again.outcome is cases.IntakeOutcome.EXISTING and again.case_id == first.case_id


async def test_a_residents_idempotency_key_answers_only_the_same_report(resident, pool):
    mine = resident_report("HP-XH-MY-1", "DOWNPIPE")
    first = await report(resident, mine, idempotency_key="my-own-key-123")
    await cases.wait_until_open(resident.client, first.case_id)
    before = await intake_state(pool)
    stranger = resident_report("HP-XH-MY-2", "DOWNPIPE", name="陌生人")
    with pytest.raises(cases.IdempotencyKeyReused, match="already used for a different report"):
        await report(resident, stranger, idempotency_key="my-own-key-123")
    assert await intake_state(pool) == before
    again = await report(resident, mine, idempotency_key="my-own-key-123")
    assert again.outcome is cases.IntakeOutcome.EXISTING and again.case_id == first.case_id
    assert again.token not in (None, first.token)  # the same report's resident: a token of their own again


async def test_a_report_whose_answer_was_lost_gets_a_token_that_works_when_retried(resident, pool):
    """The first answer, with the only copy of the access token, never reached the resident: the same report
    sent again with the same Idempotency-Key gives them a new token for the same role on the same case."""
    mine = resident_report("HP-DF-YL-1", "ROAD_SURFACE")
    first = await report(resident, mine, idempotency_key="lost-answer-reporter")
    again = await report(resident, mine, idempotency_key="lost-answer-reporter")
    assert (again.case_id, again.outcome) == (first.case_id, cases.IntakeOutcome.EXISTING)
    handle = cases.case_handle(resident.client, first.case_id)
    for token in (first.token, again.token):  # the first answer may have arrived after all
        assert await handle.query(CaseWorkflow.resident_access, token) is ResidentRole.REPORTER

    neighbour = resident_report("HP-DF-YL-1", "ROAD_SURFACE", name="李四")
    linked = await report(resident, neighbour, idempotency_key="lost-answer-follower")
    relinked = await report(resident, neighbour, idempotency_key="lost-answer-follower")
    assert (relinked.case_id, relinked.outcome) == (first.case_id, cases.IntakeOutcome.LINKED)
    assert await handle.query(CaseWorkflow.resident_access, relinked.token) is ResidentRole.FOLLOWER
    assert await handle.query(CaseWorkflow.resident_access, linked.token) is None  # replaced, as a relink does
    assert (await resident.view(handle)).reporters == 2

    view = await handle.execute_update(CaseWorkflow.withdraw, Withdraw(token=again.token, reason="修好了"))
    assert view.status is Status.CLOSED
    closed = await report(resident, mine, idempotency_key="lost-answer-reporter")
    assert (closed.case_id, closed.outcome, closed.token) == (first.case_id, cases.IntakeOutcome.EXISTING, None)
    await projected(pool, view)
    kept = await kept_residents(pool, first.case_id)  # once Temporal has forgotten the case, the tokens still open it
    assert kept is not None and kept[token_hash(again.token)] is ResidentRole.REPORTER


async def intake_state(pool) -> tuple[list, list]:
    return (
        await pool.fetch("SELECT * FROM intake_keys ORDER BY key"),
        await pool.fetch("SELECT * FROM open_issues ORDER BY compound, category"),
    )
