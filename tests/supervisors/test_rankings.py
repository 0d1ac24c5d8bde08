"""The red/black list: the ranking workflow on the time-skipping server over the scripted scenario, the list
rules, periods, and the schedule the worker creates at start-up (on the real dev server: the time-skipping
server does not implement Schedules)."""

import asyncio
import functools
import operator
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.service import RPCError
from temporalio.worker import Replayer

from activities import rankings
from devstack.services import run_services
from i18n.zone import deployment_zone
from schemas.ranking import (
    Cadence,
    EntityKind,
    ListKind,
    RankingPeriod,
    RankingRun,
    RankingScore,
    RankingTable,
    ScoredPeriod,
)
from tests.supervisors.scenario import rank
from tests.waiting import eventually
from workers.ranking_schedule import SCHEDULE_ID, RankingSchedule
from workers.worker import WORKFLOWS, build_worker
from workflows.ranking import choose_lists

BEIJING = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def by_org(table: RankingTable):
    return {entry.org: entry for entry in table.entries}


async def test_ranking_workflow_scores_and_lists_the_scenario_month(time_env, pool, scripted):
    period = RankingPeriod.containing(scripted.started, Cadence.MONTH, deployment_zone())
    table, handle = await rank(time_env, scripted, period.label)
    entries = by_org(table)
    assert set(entries) == {"PM-LVYUAN", "PM-JINDI", "PM-HUAXIA", "CGZF", "HB"}
    lvyuan, jindi, huaxia = entries["PM-LVYUAN"], entries["PM-JINDI"], entries["PM-HUAXIA"]
    assert (lvyuan.score, lvyuan.street_evaluation, lvyuan.district_evaluation) == (100, 100, 100)
    # JINDI: Dongfeng sees (30x100 + 20x0 + 35x80)/85 = 68.2 (no arrival due), Xinhua sees 0 (a breached
    # council stint, nothing else); street evaluation 34.1; district: 1 of its 2 cases reached DISTRICT -> 50
    assert (jindi.street_evaluation, jindi.district_evaluation, jindi.score) == (34.1, 50, 42.1)
    assert jindi.satisfaction == 80 and jindi.red_eligible  # 80 is not below 80
    # HUAXIA: (30x100 + 15x0)/45 = 66.7 on the street; supervised on its only case -> district 0
    assert (huaxia.street_evaluation, huaxia.district_evaluation, huaxia.score) == (66.7, 0, 33.3)
    assert huaxia.satisfaction is None and not huaxia.red_eligible  # no feedback: cannot show >= 80
    assert (entries["CGZF"].score, entries["HB"].score) == (26.5, 50)

    companies = EntityKind.PROPERTY_COMPANY
    assert [e.org for e in table.listed(companies, ListKind.RED)] == ["PM-LVYUAN", "PM-JINDI"]
    assert [e.org for e in table.listed(companies, ListKind.BLACK)] == ["PM-HUAXIA"]
    assert [e.org for e in table.listed(EntityKind.DEPARTMENT, ListKind.RED)] == ["HB", "CGZF"]

    async with pool.acquire() as connection:
        stored = await rankings.stored(connection, period.label)
        assert (stored.period, stored.computed_at, by_org(stored)) == (table.period, table.computed_at, entries)
        again, _ = await rank(time_env, scripted, period.label)  # a rerun replaces, never duplicates
        assert await connection.fetchval("SELECT count(*) FROM rankings WHERE period = $1", period.label) == 5
        assert (await rankings.stored(connection)).computed_at == again.computed_at
    replayer = Replayer(workflows=WORKFLOWS, data_converter=time_env.client.data_converter)
    await replayer.replay_workflow(await handle.fetch_history(), raise_on_replay_failure=True)


async def test_a_period_without_cases_stores_an_empty_table(time_env, pool, scripted):
    table, _ = await rank(time_env, scripted, "2001-02")
    assert table.entries == [] and table.period.start == datetime(2001, 2, 1, tzinfo=BEIJING)
    async with pool.acquire() as connection:
        assert await rankings.stored(connection, "2001-02") is None


def score(org: str, value: float, satisfaction: float | None, kind=EntityKind.PROPERTY_COMPANY) -> RankingScore:
    eligible = kind is EntityKind.DEPARTMENT or (satisfaction is not None and satisfaction >= 80)
    return RankingScore(
        org=org,
        kind=kind,
        items=1,
        score=value,
        street_evaluation=value,
        district_evaluation=value,
        satisfaction=satisfaction,
        red_eligible=eligible,
    )


def test_satisfaction_below_80_keeps_a_company_off_the_red_list():
    period = RankingPeriod.parse("2026-03", BEIJING)
    scores = [score("A", 95, 79.9), score("B", 90, 85), score("C", 60, 80), score("D", 40, 100), score("E", 10, 90)]
    table = RankingTable(
        period=period,
        computed_at=period.end,
        entries=choose_lists(ScoredPeriod(period=period, list_size=2, scores=scores)),
    )
    assert [e.org for e in table.listed(EntityKind.PROPERTY_COMPANY, ListKind.RED)] == ["B", "C"]
    assert [e.org for e in table.listed(EntityKind.PROPERTY_COMPANY, ListKind.BLACK)] == ["E", "D"]
    assert by_org(table)["A"].board is None  # the best score, but satisfaction 79.9


@pytest.mark.parametrize(
    ("label", "zone", "start", "end"),
    [
        ("2026-12", BEIJING, "2026-11-30T16:00:00Z", "2026-12-31T16:00:00Z"),
        ("2026-W01", BEIJING, "2025-12-28T16:00:00Z", "2026-01-04T16:00:00Z"),
        ("2026-12", UTC, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        # the local midnights on either side of a daylight-saving change: 2026-10 is 745 hours long
        ("2026-10", BERLIN, "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"),
        ("2026-W13", BERLIN, "2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"),
    ],
)
def test_periods_are_local_calendar_periods(label, zone, start, end):
    period = RankingPeriod.parse(label, zone)
    assert (period.start, period.end) == (datetime.fromisoformat(start), datetime.fromisoformat(end))
    assert period.start.tzinfo is UTC


def test_bad_period_labels_and_zones_are_rejected():
    for label in ("2026-13", "2026-W54", "2026-1", "last month", "2025-W53"):
        with pytest.raises(ValueError, match="period"):
            RankingRun(period=label)
    for zone in ("Beijing", "UTC+8", ""):
        with pytest.raises(ValueError, match="IANA"):
            RankingRun(zone=zone)


def test_a_scheduled_run_ranks_the_local_period_just_ended():
    """The schedule fires at 01:00 local time on the 1st (or a Monday): still the previous day in UTC."""
    first_of_march = datetime(2026, 3, 1, 1, 0, tzinfo=BEIJING)  # 2026-02-28T17:00Z
    assert RankingPeriod.before(first_of_march, Cadence.MONTH, BEIJING).label == "2026-02"
    new_year = datetime(2026, 1, 1, 1, tzinfo=BEIJING)
    assert RankingPeriod.before(new_year, Cadence.MONTH, BEIJING).label == "2025-12"
    monday = datetime(2026, 3, 2, 1, tzinfo=BEIJING)
    assert RankingPeriod.before(monday, Cadence.WEEK, BEIJING).label == "2026-W09"
    assert RankingRun(cadence=Cadence.MONTH, zone="Asia/Shanghai").ranked_period(first_of_march).label == "2026-02"
    # a run started before periods were local names no zone, and ranks as it did then: in UTC
    assert RankingRun(cadence=Cadence.MONTH).ranked_period(first_of_march).label == "2026-01"


async def scheduled_hour(client) -> int | None:
    try:
        description = await client.get_schedule_handle(SCHEDULE_ID).describe()
    except RPCError:  # not created yet
        return None
    return description.schedule.spec.calendars[0].hour[0].start


async def schedule_ids(client) -> list[str]:
    return [entry.id async for entry in await client.list_schedules()]


async def test_worker_start_up_creates_one_schedule_however_often_it_starts(dev_env, pool, monkeypatch):
    """Started twice (the second with another cron), the worker leaves one schedule, as last configured."""
    client = dev_env.client
    for hour, cron in ((1, "0 1 1 * *"), (2, "0 2 * * 1")):
        monkeypatch.setenv("WHISTLE_RANKING_CRON", cron)
        task_queue = f"whistle-test-{uuid.uuid4()}"
        services = asyncio.create_task(run_services(worker=build_worker(client, pool, task_queue)))
        wanted = functools.partial(operator.eq, hour)
        await eventually(lambda: scheduled_hour(client), wanted, what=f"the {cron} schedule")
        services.cancel()
        await asyncio.gather(services, return_exceptions=True)
    # the schedule list comes from the server's visibility store, which shows a new schedule a moment later
    schedules = await eventually(lambda: schedule_ids(client), lambda ids: SCHEDULE_ID in ids, what="the list")
    assert schedules.count(SCHEDULE_ID) == 1
    description = await client.get_schedule_handle(SCHEDULE_ID).describe()
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("RankingWorkflow", task_queue)
    calendar = description.schedule.spec.calendars[0]  # the server keeps a cron as its calendar
    assert (calendar.hour[0].start, calendar.day_of_week[0].start, calendar.day_of_month[0].end) == (2, 1, 31)
    assert RankingSchedule().cron == "0 1 1 * *"  # monthly unless configured
