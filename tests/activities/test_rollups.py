"""The roll-ups and the one-pass count agree on every figure, whatever the case histories.

Random histories (levels, escalations manual and automatic, breaches, arrivals, supervisions, returns, overdue
tasks, extensions, feedback, reopenings, withdrawals) are projected in random batches, with retries and stale
replays, through the projection's own write; then every figure is compared both ways for several scopes and
whole-day periods. WHISTLE_PROPERTY_EXAMPLES raises the number of histories for a deep run.
"""

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities import rollups
from activities.cases import write_projection
from activities.statistics import one_pass, statistics
from activities.tasks import write_task
from i18n.zone import day_start, deployment_zone
from schemas.case import CaseProjection, CaseSummary, TimelineEvent
from schemas.statistics import Statistics, StatisticsQuery
from schemas.task import TaskStatus, TaskView

LEVELS = ["COUNCIL", "COMMUNITY", "STREET", "DISTRICT"]
FIRST_DAY = date(2026, 3, 1)
AS_OF = datetime(2026, 4, 1, tzinfo=UTC)
EXAMPLES = int(os.environ.get("WHISTLE_PROPERTY_EXAMPLES", "30"))

# the steps to a resolution, a verdict and a department's task are listed twice: more histories get that far
ACTIONS = st.sampled_from(
    [
        "accept",
        "resolve",
        "satisfied",
        "summon",
        "task_accept",
        "accept",
        "whistle",
        "expire",
        "breach",
        "breach_plan",
        "arrive_on_time",
        "arrive_late",
        "arrival_breach",
        "supervise",
        "return",
        "task_overdue",
        "task_reminder",
        "extension",
        "resolve",
        "satisfied",
        "unsatisfied",
        "withdraw",
        "summon",
        "task_accept",
        "task_complete",
        "resummon",
    ]
)


@dataclass
class Place:
    compound: str
    community: str
    street: str
    district: str
    owners: dict[str, str]  # level -> the organisation owning it


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def places(pool) -> list[Place]:
    rows = await pool.fetch(
        """SELECT p.compound, c.parent AS community, s.code AS street, s.parent AS district, p.property_company,
                  centre.code AS centre
             FROM compound_parties p
             JOIN jurisdictions c ON c.code = (SELECT parent FROM jurisdictions WHERE code = p.compound)
             JOIN jurisdictions s ON s.code = c.parent
             LEFT JOIN organisations centre ON centre.jurisdiction = s.parent AND centre.kind = 'DISTRICT_CENTRE'
            ORDER BY p.compound"""
    )
    return [
        Place(
            r["compound"],
            r["community"],
            r["street"],
            r["district"],
            {
                "COUNCIL": r["property_company"],
                "COMMUNITY": r["community"],
                "STREET": r["street"],
                "DISTRICT": r["centre"],
            },
        )
        for r in rows
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def departments(pool) -> list[str]:
    return [r["code"] for r in await pool.fetch("SELECT code FROM organisations WHERE kind = 'DEPARTMENT'")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def categories(pool) -> list[str]:
    return [r["code"] for r in await pool.fetch("SELECT code FROM categories ORDER BY code")]


class History:
    """One case driven by random actions: its row after each step and the events it recorded."""

    def __init__(self, case_id: str, place: Place, category: str, severity: str, reported_at: datetime) -> None:
        self.place = place
        self.at = reported_at
        self.row = CaseSummary(
            case_id=case_id,
            status="REPORTED",
            level="COUNCIL",
            severity=severity,
            category=category,
            channel="APP",
            district=place.district,
            street=place.street,
            community=place.community,
            compound=place.compound,
            owner=place.owners["COUNCIL"],
            description="property test",
            reported_at=reported_at,
            updated_at=reported_at,
        )
        self.events: list[TimelineEvent] = []
        self.snapshots: list[tuple[CaseSummary, int]] = []  # (row, events recorded) after each step
        self.tasks: dict[str, TaskView] = {}  # department -> its task now
        self.task_snapshots: list[tuple[int, TaskView]] = []  # (case steps before it, the task row)
        self.record("REPORTED", {})

    def record(self, kind: str, details: dict) -> None:
        self.at += timedelta(hours=1)
        seq = len(self.events) + 1
        self.events.append(TimelineEvent(seq=seq, at=self.at, kind=kind, level=self.row.level, details=details))
        self.update(last_seq=seq, updated_at=self.at)
        self.snapshots.append((self.row, len(self.events)))

    def update(self, **changes) -> None:
        self.row = CaseSummary.model_validate({**self.row.model_dump(), **changes})

    def task(self, action: str, department: str) -> None:
        """A department task's change (the task workflow's projection), an hour after the last thing."""
        self.at += timedelta(hours=1)
        if department not in self.tasks and action in ("task_accept", "task_complete") and self.tasks:
            department = list(self.tasks)[-1]  # the department summoned last
        task = self.tasks.get(department)
        if task is None or action == "resummon":
            task = TaskView(
                task_id=f"case-{self.row.case_id}-dept-{department}",
                case_id=self.row.case_id,
                department=department,
                role="LEAD",
                status="SUMMONED",
                summoned_at=self.at,
                accept_due=self.at + timedelta(hours=2),
                version=1,
            )
        elif action == "task_accept" and task.accepted_at is None:
            task = task.model_copy(
                update={
                    "status": TaskStatus.ACCEPTED,
                    "accepted_at": self.at,
                    "work_due": self.at + timedelta(hours=2),
                    "version": task.version + 1,
                }
            )
        elif action == "task_complete" and task.accepted_at is not None and task.completed_at is None:
            task = task.model_copy(
                update={"status": TaskStatus.COMPLETED, "completed_at": self.at, "version": task.version + 1}
            )
        else:
            return
        self.tasks[department] = task
        self.task_snapshots.append((len(self.snapshots), task))

    def act(self, action: str, department: str, satisfied_score: int) -> None:
        row, level = self.row, str(self.row.level)
        if action in ("summon", "task_accept", "task_complete", "resummon"):
            self.task(action, department)
            return
        owner = self.place.owners[level]
        if row.status == "CLOSED":
            return
        top = level == "DISTRICT"
        if action in ("whistle", "expire") and not top and row.status != "RESOLVED":
            higher = LEVELS[LEVELS.index(level) + 1]
            if action == "expire":
                self.record("SLA_BREACHED", {"against": owner})
                self.update(auto_escalations=row.auto_escalations + 1)
            else:
                self.update(whistles=row.whistles + 1)
            self.record("ESCALATED", {"to": higher, "auto": action == "expire"})
            self.update(level=higher, owner=self.place.owners[higher], status="REPORTED")
        elif action == "accept":
            self.update(status="IN_PROGRESS")
            self.record("ACCEPTED", {})
        elif action == "breach":
            self.record("SLA_BREACHED", {"against": owner})
        elif action == "breach_plan":
            self.record("SLA_BREACHED", {"against": owner, "what": "plan"})
        elif action in ("arrive_on_time", "arrive_late"):
            self.record("ARRIVED", {"on_time": action == "arrive_on_time", "note": None})
        elif action == "arrival_breach":
            self.record("ARRIVAL_BREACHED", {"against": owner})
        elif action == "supervise":
            self.update(supervision=True)
            self.record("SUPERVISED", {"against": [owner, department], "action": "URGE"})
        elif action == "return":
            self.record("TASK_RETURNED", {"department": department})
        elif action in ("task_overdue", "task_reminder"):
            self.record("TASK_OVERDUE", {"department": department, "reminder": 0 if action == "task_overdue" else 1})
        elif action == "extension":
            self.record("EXTENSION_REQUESTED", {"until": (self.at + timedelta(days=2)).isoformat()})
            self.record("EXTENSION_APPROVED", {})
        elif action == "resolve" and row.status == "IN_PROGRESS":
            self.update(status="RESOLVED", resolved_level=level, resolved_at=self.at)
            self.record("RESOLVED", {})
        elif action in ("satisfied", "unsatisfied") and row.status == "RESOLVED":
            satisfied = action == "satisfied"
            first = row.first_time_satisfied if row.first_time_satisfied is not None else satisfied
            self.update(first_time_satisfied=first, score=satisfied_score)
            self.record("FEEDBACK", {"satisfied": satisfied, "score": satisfied_score})
            if satisfied or top:
                self.update(
                    status="CLOSED", closed_at=self.at, close_reason="SATISFIED" if satisfied else "UNSATISFIED"
                )
                self.record("CLOSED", {})
            else:
                self.update(
                    status="REOPENED", reopen_count=row.reopen_count + 1, unsatisfied_count=row.unsatisfied_count + 1
                )
                self.record("REOPENED", {"level": level})
        elif action == "withdraw":
            self.update(status="CLOSED", closed_at=self.at, close_reason="WITHDRAWN")
            self.record("WITHDRAWN", {})


histories = st.lists(
    st.tuples(
        st.integers(0, 1000),  # place
        st.integers(0, 1000),  # category
        st.sampled_from(["ORDINARY", "MAJOR", "COMPLEX"]),
        st.integers(0, 6 * 24 - 1),  # hours after the first day began (a case may straddle local midnight)
        st.lists(st.tuples(ACTIONS, st.integers(0, 1000), st.integers(1, 5)), max_size=12),
        st.lists(st.integers(1, 4), min_size=1, max_size=6),  # projection batch sizes (in steps)
        st.lists(st.sampled_from(["again", "stale"]), max_size=3),  # retries and out-of-order replays
    ),
    min_size=1,
    max_size=4,
)

_counter = iter(range(10**9))


def _periods() -> list[tuple[datetime | None, datetime | None]]:
    day = [day_start(FIRST_DAY + timedelta(days=n)) for n in range(8)]
    return [(None, None), (day[0], day[2]), (day[1], day[5]), (day[3], None), (None, day[1])]


def _rounded(figures: Statistics) -> dict:
    def walk(value):
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(figures.model_dump())


@pytest.mark.asyncio(loop_scope="session")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories)
async def test_rollups_agree_with_one_pass(pool, places, departments, categories, cases) -> None:
    async with pool.acquire() as connection:
        for place_n, category_n, severity, hours, actions, batches, replays in cases:
            place = places[place_n % len(places)]
            reported_at = day_start(FIRST_DAY) + timedelta(hours=hours)
            case_id = f"PROP-{next(_counter):06d}"
            history = History(case_id, place, categories[category_n % len(categories)], severity, reported_at)
            for action, n, score in actions:
                history.act(action, departments[n % len(departments)], score)
            written = 0
            steps = history.snapshots
            cut = 0
            sent: list[CaseProjection] = []
            tasks_sent: list[TaskView] = []
            for size in [*batches, len(steps)]:
                cut = min(cut + size, len(steps))
                row, recorded = steps[cut - 1]
                projection = CaseProjection(summary=row, events=history.events[written:recorded])
                async with connection.transaction():
                    await write_projection(connection, projection)
                sent.append(projection)
                written = recorded
                # the tasks changed by then, each projected as its workflow would (interleaved with the case's)
                while history.task_snapshots and history.task_snapshots[0][0] <= cut:
                    _, task = history.task_snapshots.pop(0)
                    async with connection.transaction():
                        await write_task(connection, task)
                    tasks_sent.append(task)
                if cut == len(steps):
                    break
            for replay in replays:
                projection = sent[-1] if replay == "again" else sent[0]
                async with connection.transaction():
                    await write_projection(connection, projection)
                    if tasks_sent:  # a retried task projection, or a late one overtaken by newer versions
                        await write_task(connection, tasks_sent[-1] if replay == "again" else tasks_sent[0])

        place = places[cases[0][0] % len(places)]
        for jurisdiction in (None, place.district, place.street, place.community, place.compound):
            for since, until in _periods():
                query = StatisticsQuery(jurisdiction=jurisdiction, since=since, until=until, as_of=AS_OF)
                assert _rounded(await statistics(connection, query)) == _rounded(await one_pass(connection, query))


async def test_backfill_adds_cases_written_before_the_rollups_once(pool, places, departments, categories, monkeypatch):
    """Cases projected before the roll-ups existed are added by the backfill, once however often it runs; until
    it is through, and after the deployment's zone changed until a rebuild, figures are counted in one pass."""
    async with pool.acquire() as connection:
        for n in range(3):
            history = History(f"BACK-{n}", places[n % len(places)], categories[0], "ORDINARY", day_start(FIRST_DAY))
            actions = ("accept", "summon", "task_accept", "arrive_on_time", "whistle", "breach", "task_complete")
            for action in (*actions, "resolve", "unsatisfied", "resolve"):
                history.act(action, departments[n], 4)
            async with connection.transaction():
                await write_projection(connection, CaseProjection(summary=history.row, events=history.events))
                await write_task(connection, history.tasks[departments[n]])
        # as migration 016 finds a database written by a release without roll-ups
        await connection.execute(
            "TRUNCATE statistics_rollups, statistics_rollups_monthly, statistics_trend, statistics_rolled_up"
        )
        await connection.execute("INSERT INTO statistics_rolled_up (case_id, day, zone) VALUES ('', 'infinity', '')")
        month = StatisticsQuery(
            since=day_start(FIRST_DAY), until=day_start(FIRST_DAY + timedelta(days=31)), as_of=AS_OF
        )
        assert await rollups.filed_elsewhere(connection)
        assert (await statistics(connection, month)).reported == await connection.fetchval("SELECT count(*) FROM cases")

        progress: list[tuple[int, int]] = []
        added = await rollups.backfill(connection, batch=2, progress=lambda done, total: progress.append((done, total)))
        total = await connection.fetchval("SELECT count(*) FROM cases")
        assert added == total and progress[-1] == (total, total)
        assert await rollups.backfill(connection) == 0
        assert not await rollups.filed_elsewhere(connection)
        for jurisdiction in (None, places[0].street):
            query = StatisticsQuery(jurisdiction=jurisdiction, since=day_start(FIRST_DAY), as_of=AS_OF)
            assert _rounded(await statistics(connection, query)) == _rounded(await one_pass(connection, query))

        monkeypatch.setenv("WHISTLE_TIMEZONE", "Etc/GMT-14")  # days now begin ten hours earlier than Beijing's
        assert await rollups.filed_elsewhere(connection)
        assert await rollups.backfill(connection, rebuild=True) == total
        assert not await rollups.filed_elsewhere(connection)
        query = StatisticsQuery(since=day_start(FIRST_DAY + timedelta(days=1)), as_of=AS_OF)
        assert _rounded(await statistics(connection, query)) == _rounded(await one_pass(connection, query))


async def test_department_figures_follow_their_tasks_and_the_cases_verdicts(pool, places, departments, categories):
    """A department's mean score is its cases' (one per task), whichever of the task and the verdict is written
    first; its acceptance and completion figures follow the task's newest version, not a late replay."""
    department = departments[0]
    month = StatisticsQuery(since=day_start(date(2026, 6, 1)), until=day_start(date(2026, 7, 1)), as_of=AS_OF)
    async with pool.acquire() as connection:
        early, late = (
            History(f"DEPT-{n}", places[0], categories[0], "ORDINARY", day_start(date(2026, 6, 10))) for n in range(2)
        )
        for action in ("accept", "summon", "task_accept", "task_complete", "resolve", "satisfied"):
            early.act(action, department, 5)
        async with connection.transaction():  # the verdict before the task
            await write_projection(connection, CaseProjection(summary=early.row, events=early.events))
        for _, task in early.task_snapshots:
            async with connection.transaction():
                await write_task(connection, task)
        for action in ("accept", "summon", "resolve", "satisfied"):
            late.act(action, department, 2)
        [(_, summoned)] = late.task_snapshots
        async with connection.transaction():  # the task before the verdict, then a stale replay of nothing new
            await write_projection(connection, CaseProjection(summary=late.snapshots[0][0], events=late.events[:1]))
            await write_task(connection, summoned)
        async with connection.transaction():
            await write_projection(connection, CaseProjection(summary=late.row, events=late.events))
            await write_task(connection, early.task_snapshots[0][1])
        async with connection.transaction():  # a late replay of the first projection changes nothing
            await write_projection(connection, CaseProjection(summary=late.snapshots[0][0], events=late.events[:1]))

        figures = await statistics(connection, month)
        [tasks] = [d for d in figures.departments if d.department == department]
        assert (tasks.tasks, tasks.mean_score) == (2, 3.5)
        assert (tasks.accepted_on_time.count, tasks.completed_on_time.of, tasks.mean_accept_minutes) == (1, 1, 60)
        assert _rounded(figures) == _rounded(await one_pass(connection, month))


async def test_a_projection_waiting_for_its_case_counts_what_the_one_before_it_committed(pool, places, categories):
    """Two projections of one case at once (a retried activity beside the attempt it replaces): the second waits
    for the case's lock, then counts from what the first committed meanwhile, not from what it saw before."""
    month = StatisticsQuery(since=day_start(date(2026, 8, 1)), until=day_start(date(2026, 9, 1)), as_of=AS_OF)
    history = History("BESIDE-0", places[0], categories[0], "ORDINARY", day_start(date(2026, 8, 3)))
    for action in ("accept", "breach", "resolve"):
        history.act(action, "", 5)
    row, recorded = history.snapshots[0]  # the report alone
    async with pool.acquire() as first, pool.acquire() as second, pool.acquire() as watch:

        async def everything() -> None:
            async with second.transaction():
                await write_projection(second, CaseProjection(summary=history.row, events=history.events))

        async with first.transaction():
            await write_projection(first, CaseProjection(summary=row, events=history.events[:recorded]))
            waiting = asyncio.create_task(everything())
            for _ in range(500):  # until the second projection waits for the case's lock
                if (
                    await watch.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                    or waiting.done()
                ):
                    break
                await asyncio.sleep(0.01)
            assert not waiting.done()
        await waiting
        figures = await statistics(first, month)
        assert (figures.reported, figures.resolved, figures.sla.of, figures.rates.response.count) == (1, 1, 1, 1)
        assert _rounded(figures) == _rounded(await one_pass(first, month))


async def test_whether_the_rollups_answer_reads_the_zone_index_whatever_the_plan(pool) -> None:
    """Every statistics call first asks whether the roll-ups answer; as a prepared statement's generic plan (what
    PostgreSQL settles on after a few calls) that must stay a look into the zone index, not a scan of a row per
    case filed."""
    async with pool.acquire() as connection:
        filed = connection.transaction()
        await filed.start()
        try:
            await connection.execute(
                """INSERT INTO statistics_rolled_up (case_id, day, zone)
                   SELECT 'ZONE-' || n, DATE '2026-01-01', 'Asia/Shanghai' FROM generate_series(1, 20000) AS n"""
            )
            await connection.execute("ANALYZE statistics_rolled_up")
            await connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await connection.execute(f"PREPARE probe(text) AS SELECT {rollups.FILED_ELSEWHERE}")
            plan = "\n".join(row[0] for row in await connection.fetch("EXPLAIN EXECUTE probe('Asia/Shanghai')"))
            await connection.execute("DEALLOCATE probe")
            assert "Seq Scan" not in plan, plan
            elsewhere = await connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM statistics_rolled_up WHERE zone <> $1)", deployment_zone().key
            )
            assert await rollups.filed_elsewhere(connection) == elsewhere
        finally:
            await filed.rollback()  # the rows above were only for the plan
