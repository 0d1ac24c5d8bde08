"""Deadlines on the owner's working calendar, on a time-skipping server whose clock starts at the moment each
test needs (tests/workflows/pinned_clock.py). The cases run on the bundled `working-days` policy: the street
has 1 working day, the district and each department's work 3, a department 2 working hours to report for duty;
the council's 5341 budgets stay wall-clock.

2026 dates are the State Council's (notice of 4 November 2025; see tests/schemas/test_calendar.py).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest_asyncio

from activities.registry import bundled_policies
from i18n.deadlines import counted
from i18n.language import CHINESE, speaking
from schemas.calendar import Clock
from schemas.case import Actor, DecidePause, DepartmentSummons, EventKind, RequestPause, Whistle
from schemas.domain import Level, Severity
from schemas.pause import PauseReason
from schemas.task import TaskAccept, TaskActor
from tests.waiting import eventually, quiescent
from tests.workflows.ladder import COMMUNITY, OWNERS, STREET, kinds
from tests.workflows.pinned_clock import harness_at
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow as Task

BEIJING = ZoneInfo("Asia/Shanghai")
POLICY = "working-days"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


def shown(moment: datetime | None) -> str:
    """To the minute: the steps before a deadline starts take a few real seconds on the running clock."""
    assert moment is not None
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %a %H:%M")


@pytest_asyncio.fixture(loop_scope="session", params=["cached", "uncached"])
async def clocked(request, pool, task_queue):
    """`async with clocked(moment) as harness`: each test on a server of its own, started at its moment."""
    return lambda moment: harness_at(moment, pool, task_queue, cached=request.param == "cached")


async def to_district(harness, lead: str = "CGZF"):
    handle, _ = await harness.report(category="ILLEGAL_CONSTRUCTION", policy=POLICY, severity=Severity.ORDINARY)
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=OWNERS, reason="an extension on the roof"))
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=COMMUNITY, reason="needs enforcement"))
    view = await handle.execute_update(
        CaseWorkflow.whistle,
        Whistle(actor=STREET, reason="summon enforcement", departments=DepartmentSummons(lead=lead)),
    )
    assert view.level is Level.DISTRICT
    task = harness.client.get_workflow_handle_for(Task.run, view.tasks[0].task_id)
    return handle, task, view


async def test_a_department_summoned_on_friday_afternoon_is_due_on_wednesday(clocked):
    async with clocked(at("2026-11-27 16:00")) as harness:
        handle, task, view = await to_district(harness)
        assert shown(view.tasks[0].summoned_at) == "2026-11-27 Fri 16:00"
        # two working hours: Friday's last two (the seconds the steps took on the clock spill into Monday)
        assert shown(view.tasks[0].accept_due) == "2026-11-30 Mon 09:00"
        accepted = await task.execute_update(Task.accept, TaskAccept(actor=TaskActor(department="CGZF")))
        assert shown(accepted.work_due) == "2026-12-02 Wed 16:00"  # Monday, Tuesday, Wednesday
        # three wall-clock days would have run out on Monday at 16:00; nothing is late on Tuesday evening
        await harness.env.sleep(accepted.work_due - timedelta(minutes=1) - await harness.env.get_current_time())
        assert not (await task.query(Task.view)).overdue
        await harness.env.sleep(timedelta(minutes=2))
        view = await eventually(lambda: harness.view(handle), lambda v: EventKind.TASK_OVERDUE in kinds(v))
        late = next(e for e in view.timeline if e.kind is EventKind.TASK_OVERDUE)
        assert shown(late.at) == "2026-12-02 Wed 16:00" and late.details["phase"] == "work"


async def test_the_district_warns_at_80_percent_of_its_working_time(clocked):
    async with clocked(at("2026-11-27 16:00")) as harness:
        handle, _, view = await to_district(harness)
        stage = view.stage
        assert (stage.level, stage.clock, stage.budget) == (Level.DISTRICT, Clock.WORKING, timedelta(days=3))
        assert shown(stage.deadline) == "2026-12-02 Wed 16:00"
        # 22.5 working hours in all, 18 of them counted by Wednesday 10:00 (wall clock: Monday 17:36)
        assert shown(stage.warning_at) == "2026-12-02 Wed 10:00"
        await harness.env.sleep(at("2026-12-02 09:59") - await harness.env.get_current_time())
        assert EventKind.WARNING not in kinds(await harness.view(handle))
        await harness.env.sleep(timedelta(minutes=2))
        view = await eventually(lambda: harness.view(handle), lambda v: EventKind.WARNING in kinds(v))
        warning = next(e for e in view.timeline if e.kind is EventKind.WARNING)
        assert shown(warning.at) == "2026-12-02 Wed 10:00"
        await quiescent(handle)


async def test_across_national_day_and_its_swapped_saturday(clocked):
    async with clocked(at("2026-09-30 10:00")) as harness:
        handle, task, view = await to_district(harness)
        street, district = view.stages[2], view.stages[3]
        # the street's 1 working day would have ended on 8 October, after the holiday
        assert (street.level, shown(street.deadline), street.holidays) == (
            Level.STREET,
            "2026-10-08 Thu 10:00",
            ["National Day"],
        )
        # 8 and 9 October, then Saturday 10 October, worked in exchange for the holiday
        assert shown(district.deadline) == "2026-10-10 Sat 10:00" and district.holidays == ["National Day"]
        with speaking(CHINESE):
            assert counted(district) == "3 个工作日，截止 10月10日 10:00（国庆假期顺延）"
        accepted = await task.execute_update(Task.accept, TaskAccept(actor=TaskActor(department="CGZF")))
        assert shown(accepted.work_due) == "2026-10-10 Sat 10:00"
        await harness.env.sleep(at("2026-10-10 09:59") - await harness.env.get_current_time())
        view = await harness.view(handle)
        assert not view.overdue and not {EventKind.TASK_OVERDUE, EventKind.SLA_BREACHED} & set(kinds(view))
        await harness.env.sleep(timedelta(minutes=2))
        view = await eventually(
            lambda: harness.view(handle),
            lambda v: EventKind.SLA_BREACHED in kinds(v) and EventKind.TASK_OVERDUE in kinds(v),
        )
        assert shown(next(e for e in view.timeline if e.kind is EventKind.SLA_BREACHED).at) == "2026-10-10 Sat 10:00"
        assert shown(next(e for e in view.timeline if e.kind is EventKind.TASK_OVERDUE).at) == "2026-10-10 Sat 10:00"
        await quiescent(handle)


async def test_a_pause_moves_a_working_deadline_by_the_working_time_it_stood_still(clocked):
    async with clocked(at("2026-11-27 16:00")) as harness:
        handle, _, view = await to_district(harness)
        assert shown(view.stage.deadline) == "2026-12-02 Wed 16:00"
        centre = Actor(org="HP-CENTRE")  # owns DISTRICT, and decides there
        ask = RequestPause(actor=centre, reason=PauseReason.THIRD_PARTY, until=at("2026-11-30 12:00"))
        await handle.execute_update(CaseWorkflow.request_pause, ask)
        await handle.execute_update(CaseWorkflow.decide_pause, DecidePause(actor=centre, approve=True, reason="ok"))
        await harness.env.sleep(at("2026-11-30 12:01") - await harness.env.get_current_time())
        view = await eventually(lambda: harness.view(handle), lambda v: not v.paused)
        # Friday's last 2 working hours and Monday morning's 3 did not count: Wednesday 16:00 + 5 = Thursday 12:00
        # (less the seconds the steps took before the approval, which did count)
        stopped = view.pauses[0].started_at
        assert view.pauses[0].counted == timedelta(hours=5) - (stopped - at("2026-11-27 16:00"))
        assert view.stage.deadline == at("2026-12-03 12:00") - (stopped - view.stage.entered_at)
        await quiescent(handle)


async def test_a_5341_budget_stays_wall_clock_over_the_weekend(clocked):
    async with clocked(at("2026-11-27 17:50")) as harness:
        handle, _ = await harness.report(category="CORRIDOR_CLUTTER", policy=POLICY)
        view = await harness.view(handle)
        assert (view.stage.clock, shown(view.stage.deadline)) == (Clock.WALL, "2026-11-27 Fri 18:20")
        await harness.env.sleep(timedelta(minutes=31))
        view = await eventually(lambda: harness.view(handle), lambda v: v.level is Level.COMMUNITY)
        climbed = next(e for e in view.timeline if e.kind is EventKind.ESCALATED)
        assert shown(climbed.at) == "2026-11-27 Fri 18:20" and climbed.details["automatic"]
        # the community's 4 hours run through Friday night too
        assert shown(view.stage.deadline) == "2026-11-27 Fri 22:20"
        await quiescent(handle)


def test_the_working_days_policy_keeps_the_5341_promises_on_the_wall_clock():
    policy = next(p for p in bundled_policies() if p.name == POLICY)
    assert {policy.budget(Level.COUNCIL, s).clock for s in policy.budgets[Level.COUNCIL]} == {Clock.WALL}
    assert policy.budget(Level.STREET, "ORDINARY").clock is Clock.WORKING
    assert all(work.clock is Clock.WORKING for work in policy.department_work.values())
