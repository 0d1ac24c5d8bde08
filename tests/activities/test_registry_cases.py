"""Cases in an imported city, on the time-skipping server: the council of a compound without a property company
resolves with its remaining parties' sign-off (both of two; one alone), running cases keep the policy they
started with, and retiring what open cases reference is refused with the list of those cases."""

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
import pytest_asyncio

from activities import city_file, registry, registry_edits, statistics
from activities.db import create_pool
from i18n.language import ENGLISH, speaking
from schemas.case import Accept, Actor, Resolve, Signoff, Withdraw
from schemas.domain import Level, PartyRole, Severity, Status
from schemas.policy import Budget
from schemas.registry import ChangeAction, ChangeVia, RegistryPart
from schemas.statistics import StatisticsQuery
from tests import cities
from tests.waiting import eventually
from tests.workflows.conftest import Harness
from workers.worker import build_worker
from workflows.case import CaseWorkflow

ACTOR = registry_edits.Actor(name="test", via=ChangeVia.IMPORT)
COMMUNITY = Actor(org="CN-1-1")
OWNERS = Actor(org=f"OC-{cities.NO_COMPANY}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def city_pool(postgres_server) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(await cities.registry_database(postgres_server))
    content = cities.city()
    document = city_file.parse(cities.yaml_text(content), "city.yaml", json_format=False)
    async with pool.acquire() as connection:
        await registry_edits.import_city(connection, city_file.validate(document), ACTOR)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def harness(fresh_time_env, city_pool, task_queue) -> AsyncIterator[Harness]:
    harness = Harness(env=fresh_time_env, pool=city_pool, task_queue=task_queue)
    async with build_worker(fresh_time_env.client, city_pool, task_queue):
        yield harness
        assert await harness.replay() >= len(harness.started)


async def test_a_council_of_two_needs_both(harness):
    handle, _ = await harness.report(compound=cities.NO_COMPANY, category="LEAK")
    view = await harness.view(handle)
    assert view.council == {PartyRole.COMMUNITY_COMMITTEE: "CN-1-1", PartyRole.OWNERS_COMMITTEE: OWNERS.org}
    assert view.stage.owner == COMMUNITY.org  # no property company: the community stands in

    await handle.execute_update(CaseWorkflow.accept, Accept(actor=COMMUNITY))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=COMMUNITY, summary="roof patched"))
    view = await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=OWNERS, agree=False, comment="drips"))
    assert view.status is Status.IN_PROGRESS and view.proposal is None  # one objection of two: it fails

    view = await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=COMMUNITY, summary="patched again"))
    assert view.status is Status.IN_PROGRESS and view.proposal is not None
    view = await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=OWNERS, agree=True))
    assert view.status is Status.RESOLVED and view.resolved_level is Level.COUNCIL


async def test_a_council_of_one_is_that_party_alone(harness):
    handle, _ = await harness.report(compound=cities.NOBODY, category="LEAK")
    assert (await harness.view(handle)).council == {PartyRole.COMMUNITY_COMMITTEE: COMMUNITY.org}
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=COMMUNITY))
    view = await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=COMMUNITY, summary="roof patched"))
    assert view.status is Status.RESOLVED and view.resolved_level is Level.COUNCIL


async def test_running_cases_keep_the_policy_they_started_with(harness, city_pool):
    handle, _ = await harness.report(compound=cities.WITH_COMPANY, category="LEAK", policy="default")
    budget = (await harness.view(handle)).stage.budget
    assert budget == timedelta(minutes=30)
    async with city_pool.acquire() as connection:
        policy = await registry_edits.export_city(connection)
        default = next(p for p in policy.policies if p.name == "default")
        budgets = {
            **default.budgets,
            Level.COUNCIL: {**default.budgets[Level.COUNCIL], Severity.ORDINARY: Budget(duration=timedelta(hours=2))},
        }
        edited = default.model_copy(update={"budgets": budgets})
        [change] = await registry_edits.amend(connection, registry_edits.with_policy(edited), ACTOR)
    assert change.part is RegistryPart.POLICY and change.action is ChangeAction.CHANGED

    await harness.env.sleep(timedelta(minutes=31))  # the old budget runs out: the case climbs as it would have
    view = await harness.view(handle)
    assert view.stages[0].budget == budget and view.level is Level.COMMUNITY
    later, _ = await harness.report(compound=cities.SOUTH, category="LEAK", policy="default")
    assert (await harness.view(later)).stage.budget == timedelta(hours=2)


async def test_without_a_property_company_the_community_hears_and_answers_for_the_council(harness, city_pool):
    """The read model's readers take the council level's owner from the registry: notifications go to the
    parties the compound has, and the figures count the council stint against the community standing in."""
    handle, token = await harness.report(compound=cities.NO_COMPANY, category="FIRE_LANE")
    case_id = (await harness.view(handle)).case_id

    async def told() -> set[str]:
        rows = await city_pool.fetch(
            "SELECT recipient FROM notifications WHERE case_id = $1 AND topic = 'REPORTED'", case_id
        )
        return {row["recipient"] for row in rows}

    recipients = await eventually(told, lambda found: len(found) == 3, what="the new case's notifications")
    assert recipients == {COMMUNITY.org, OWNERS.org, f"resident:{case_id}"}

    async with city_pool.acquire() as connection:
        figures = await statistics.statistics(connection, StatisticsQuery(jurisdiction=cities.NO_COMPANY))
    owners = {figures.org: figures for figures in figures.organisations}
    assert COMMUNITY.org in owners and owners[COMMUNITY.org].sla.of >= 1

    await handle.execute_update(CaseWorkflow.withdraw, Withdraw(token=token))  # leaves the category to the next test
    closed = "SELECT status FROM cases WHERE case_id = $1"
    await eventually(lambda: city_pool.fetchval(closed, case_id), lambda status: status == Status.CLOSED)


async def test_retiring_what_open_cases_reference_is_refused_with_those_cases(harness, city_pool):
    handle, token = await harness.report(compound="CN-1-2-1", category="FIRE_LANE")
    view = await harness.view(handle)
    company = view.council[PartyRole.PROPERTY_COMPANY]

    async def status() -> str | None:
        return await city_pool.fetchval("SELECT status FROM cases WHERE case_id = $1", view.case_id)

    await eventually(status, lambda found: found is not None, what="the case in the read model")
    async with city_pool.acquire() as connection:
        with speaking(ENGLISH):
            with pytest.raises(registry_edits.RetireRefused) as category:
                await registry_edits.retire(connection, RegistryPart.CATEGORY, "FIRE_LANE", ACTOR)
            with pytest.raises(registry_edits.RetireRefused) as organisation:
                await registry_edits.retire(connection, RegistryPart.ORGANISATION, company, ACTOR)
    assert category.value.cases == [view.case_id]
    assert str(category.value) == f"FIRE_LANE cannot be retired: open cases reference it: {view.case_id}"
    assert view.case_id in organisation.value.cases  # (and the cases of its other compounds)
    assert "council of compound CN-1-2-1" in organisation.value.references  # the registry names it too

    await handle.execute_update(CaseWorkflow.withdraw, Withdraw(token=token, reason="solved it myself"))
    await eventually(status, lambda found: found == Status.CLOSED, what="the case closed in the read model")
    async with city_pool.acquire() as connection:
        retired = await registry_edits.retire(connection, RegistryPart.CATEGORY, "FIRE_LANE", ACTOR)
        assert retired.action is ChangeAction.RETIRED and retired.before["name"] == "消防通道堵塞"
        [recorded] = await registry_edits.changes(connection, part=RegistryPart.CATEGORY, key="FIRE_LANE", limit=1)
        assert (recorded.action, recorded.actor) == (ChangeAction.RETIRED, "test")
        with pytest.raises(registry.UnknownReference):
            await registry.case_context(connection, "CN-1-2-1", "FIRE_LANE", "default")
        assert "FIRE_LANE" not in [c.code for c in (await registry_edits.export_city(connection)).categories]
