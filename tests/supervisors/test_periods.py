"""Every calendar period is a local one, on the deployment's clock (WHISTLE_TIMEZONE): a case id's date, a
statistics day, a ranking month or week, and the month the scheduled ranking run ranks.

The boundaries under test lie in the past, where the time-skipping server cannot go (its clock starts at the
machine's and only moves forward). So each case is reported at its exact instant the way intake and the case
workflow report one: a case number from the registry, the case workflow's own state at its first moment, and
the read-model write of the workflow's projection activity. Rankings run as the real workflow on the dev server.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import ScheduleActionExecutionStartWorkflow
from temporalio.service import RPCError

from activities import rankings, registry
from activities.cases import CaseActivities
from activities.db import create_pool
from activities.statistics import statistics
from devstack.services import run_services
from i18n.zone import ZONE_ENV, day_start, deployment_zone
from schemas.case import CaseProjection, CaseReport, CaseStart
from schemas.ranking import Cadence, RankingPeriod, RankingRun, RankingTable
from schemas.statistics import Ratio, Statistics, StatisticsQuery, TrendPoint
from tests.postgres import create_database
from tests.waiting import WITHIN, eventually
from workers.ranking_schedule import SCHEDULE_ID
from workers.worker import build_worker
from workflows.case_state import CaseState
from workflows.ranking import RankingWorkflow

BERLIN = ZoneInfo("Europe/Berlin")
# Compounds and the property companies that manage them (demo jurisdiction)
LVYUAN, JINDI, HUAXIA = "HP-DF-QH-1", "HP-DF-QH-2", "HP-DF-YL-1"
COMPANY = {LVYUAN: "PM-LVYUAN", JINDI: "PM-JINDI", HUAXIA: "PM-HUAXIA"}


@pytest_asyncio.fixture(loop_scope="session")
async def pool(postgres_server) -> AsyncIterator[asyncpg.Pool]:
    """A database of the test's own: each test's cases are all the cases its figures and rankings see."""
    pool = await create_pool(await create_database(postgres_server, f"whistle_periods_{uuid.uuid4().hex[:8]}"))
    yield pool
    await pool.close()


@pytest.fixture
def zone(monkeypatch, request) -> ZoneInfo:
    """The deployment zone of the test (parametrised by name), as the worker and the API read it."""
    monkeypatch.setenv(ZONE_ENV, request.param)
    return deployment_zone()


async def report_at(pool: asyncpg.Pool, reported: datetime, compound: str) -> str:
    """A case reported at `reported` in `compound`, written to the read model as its workflow writes it."""
    async with pool.acquire() as connection:
        case_id = await registry.next_case_id(connection, reported)
        context = await registry.case_context(connection, compound, "NOISE", "default")
    report = CaseReport(compound=compound, category="NOISE", description="music after midnight")
    case = CaseState(CaseStart(case_id=case_id, report=report), context, reported, patched=lambda _: True)
    await CaseActivities(pool).project(CaseProjection(summary=case.summary(), events=case.timeline))
    return case_id


async def figures(pool: asyncpg.Pool, first: date | None = None, last: date | None = None) -> Statistics:
    """The statistics of the local days `first` to `last`, as a person picks them."""
    query = StatisticsQuery(
        since=day_start(first) if first else None, until=day_start(last + timedelta(days=1)) if last else None
    )
    async with pool.acquire() as connection:
        return await statistics(connection, query)


async def ranked(dev_env, pool: asyncpg.Pool, label: str) -> RankingTable:
    """The ranking workflow's table of `label`, started as `whistle rankings --compute` starts it."""
    task_queue = f"whistle-periods-{uuid.uuid4()}"
    async with build_worker(dev_env.client, pool, task_queue), asyncio.timeout(WITHIN):
        return await dev_env.client.execute_workflow(
            RankingWorkflow.run,
            RankingRun(period=label, zone=deployment_zone().key),
            id=f"rankings-{uuid.uuid4()}",
            task_queue=task_queue,
        )


def companies(statistics_or_table: Statistics | RankingTable) -> set[str]:
    if isinstance(statistics_or_table, RankingTable):
        return {entry.org for entry in statistics_or_table.entries}
    return {figures.org for figures in statistics_or_table.organisations if figures.cases}


def one_day(day: date, reported: int) -> TrendPoint:
    return TrendPoint(day=day, reported=reported, sla=Ratio(count=reported, of=reported))


@pytest.mark.parametrize("zone", ["Asia/Shanghai"], indirect=True)
async def test_a_case_reported_at_2330_on_31_october_is_octobers(zone, pool, dev_env):
    october = await report_at(pool, datetime(2026, 10, 31, 15, 30, tzinfo=UTC), LVYUAN)  # 23:30 Beijing time
    november = await report_at(pool, datetime(2026, 10, 31, 16, 30, tzinfo=UTC), HUAXIA)  # 00:30 on 1 November
    assert october.startswith("WH-20261031-") and november.startswith("WH-20261101-")

    in_october = await figures(pool, date(2026, 10, 1), date(2026, 10, 31))
    assert in_october.query.until == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert (in_october.reported, in_october.sla, companies(in_october)) == (1, Ratio(count=1, of=1), {"PM-LVYUAN"})
    assert in_october.trend == [one_day(date(2026, 10, 31), 1)]
    in_november = await figures(pool, date(2026, 11, 1), date(2026, 11, 30))
    assert (in_november.reported, companies(in_november)) == (1, {"PM-HUAXIA"})
    assert (await figures(pool)).trend == [one_day(date(2026, 10, 31), 1), one_day(date(2026, 11, 1), 1)]

    october_list = await ranked(dev_env, pool, "2026-10")
    assert (october_list.period.start, october_list.period.end) == (
        datetime(2026, 9, 30, 16, tzinfo=UTC),
        datetime(2026, 10, 31, 16, tzinfo=UTC),
    )
    assert companies(october_list) == {"PM-LVYUAN"}
    assert companies(await ranked(dev_env, pool, "2026-11")) == {"PM-HUAXIA"}
    async with pool.acquire() as connection:
        assert companies(await rankings.stored(connection, "2026-10")) == {"PM-LVYUAN"}


@pytest.mark.parametrize("zone", ["Europe/Berlin"], indirect=True)
async def test_a_daylight_saving_day_is_the_local_day_of_25_or_23_hours(zone, pool):
    autumn = date(2026, 10, 25)  # clocks go back at 03:00
    assert day_start(autumn + timedelta(days=1)) - day_start(autumn) == timedelta(hours=25)
    first = await report_at(pool, datetime(2026, 10, 24, 22, 30, tzinfo=UTC), LVYUAN)  # 00:30 on the 25th (CEST)
    last = await report_at(pool, datetime(2026, 10, 25, 22, 30, tzinfo=UTC), JINDI)  # 23:30 on the 25th (CET)
    await report_at(pool, datetime(2026, 10, 25, 23, 30, tzinfo=UTC), HUAXIA)  # 00:30 on the 26th
    assert first.startswith("WH-20261025-") and last.startswith("WH-20261025-")
    day = await figures(pool, autumn, autumn)
    assert (day.zone, day.reported, companies(day)) == ("Europe/Berlin", 2, {"PM-LVYUAN", "PM-JINDI"})
    assert day.trend == [one_day(autumn, 2)]

    spring = date(2026, 3, 29)  # clocks go forward at 02:00
    assert day_start(spring + timedelta(days=1)) - day_start(spring) == timedelta(hours=23)
    await report_at(pool, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), LVYUAN)  # 00:30 on the 29th (CET)
    await report_at(pool, datetime(2026, 3, 29, 21, 30, tzinfo=UTC), JINDI)  # 23:30 on the 29th (CEST)
    await report_at(pool, datetime(2026, 3, 29, 22, 30, tzinfo=UTC), HUAXIA)  # 00:30 on the 30th
    assert (await figures(pool, spring, spring)).reported == 2
    assert (await figures(pool, spring - timedelta(days=1), spring + timedelta(days=1))).trend == [
        one_day(spring, 2),
        one_day(spring + timedelta(days=1), 1),
    ]


@pytest.mark.parametrize("zone", ["Europe/Berlin"], indirect=True)
async def test_a_month_across_a_daylight_saving_change_is_ranked_between_local_midnights(zone, pool, dev_env):
    october = RankingPeriod.parse("2026-10", zone)
    assert (october.start, october.end) == (
        datetime(2026, 9, 30, 22, tzinfo=UTC),
        datetime(2026, 10, 31, 23, tzinfo=UTC),
    )
    await report_at(pool, datetime(2026, 9, 30, 21, 30, tzinfo=UTC), HUAXIA)  # 23:30 on 30 September
    await report_at(pool, datetime(2026, 9, 30, 22, 30, tzinfo=UTC), LVYUAN)  # 00:30 on 1 October
    await report_at(pool, datetime(2026, 10, 31, 22, 30, tzinfo=UTC), JINDI)  # 23:30 on 31 October
    await report_at(pool, datetime(2026, 10, 31, 23, 30, tzinfo=UTC), HUAXIA)  # 00:30 on 1 November
    table = await ranked(dev_env, pool, "2026-10")
    assert table.period == october
    assert companies(table) == {"PM-LVYUAN", "PM-JINDI"}
    week = await ranked(dev_env, pool, "2026-W44")  # Monday 26 October to Sunday 1 November
    assert (week.period.start, week.period.end) == (
        datetime(2026, 10, 25, 23, tzinfo=UTC),
        datetime(2026, 11, 1, 23, tzinfo=UTC),
    )
    assert companies(week) == {"PM-JINDI", "PM-HUAXIA"}


@pytest.mark.parametrize("zone", ["Europe/Berlin"], indirect=True)
async def test_the_scheduled_run_fires_and_ranks_on_the_local_clock(zone, pool, dev_env):
    """The worker's schedule reads its cron on the deployment's clock and ranks the local month just ended."""
    client = dev_env.client
    task_queue = f"whistle-periods-{uuid.uuid4()}"
    services = asyncio.create_task(run_services(worker=build_worker(client, pool, task_queue)))
    try:
        handle = client.get_schedule_handle(SCHEDULE_ID)

        async def ours():
            try:
                description = await handle.describe()
            except RPCError:  # not created yet
                return None
            return description if description.schedule.action.task_queue == task_queue else None

        description = await eventually(ours, what="the schedule of this worker")
        assert description.schedule.spec.time_zone_name == "Europe/Berlin"
        earlier = {result.action.workflow_id for result in description.info.recent_actions}
        await handle.trigger()

        async def triggered():
            started = [r.action for r in (await handle.describe()).info.recent_actions]
            return next((action for action in started if action.workflow_id not in earlier), None)

        started = await eventually(triggered, what="the triggered run")
        assert isinstance(started, ScheduleActionExecutionStartWorkflow)
        run = client.get_workflow_handle_for(
            RankingWorkflow.run, started.workflow_id, run_id=started.first_execution_run_id
        )
        async with asyncio.timeout(WITHIN):
            table = await run.result()
    finally:
        services.cancel()
        await asyncio.gather(services, return_exceptions=True)
    assert table.period == RankingPeriod.before(table.computed_at, Cadence.MONTH, zone)
    local_start, local_end = table.period.start.astimezone(zone), table.period.end.astimezone(zone)
    assert (local_start.day, local_start.time(), local_end.day, local_end.time()) == (1, time(), 1, time())
