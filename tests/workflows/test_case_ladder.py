"""The escalation ladder on the time-skipping server: 5341 budgets, warnings, whistles, council quorum."""

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from schemas.case import (
    Accept,
    Actor,
    AddNote,
    Arrive,
    DecideExtension,
    DepartmentSummons,
    EventKind,
    PresentPlan,
    RequestExtension,
    Resolve,
    Signoff,
    Supervise,
    SuperviseAction,
    Whistle,
)
from schemas.domain import Level, Severity, Status
from tests.waiting import quiescent
from tests.workflows.ladder import CENTRE, COMMUNITY, OWNERS, STREET
from workflows.case import CaseWorkflow

PROPERTY = Actor(org="PM-LVYUAN")  # property company of HP-DF-QH-1


def events(view, kind: EventKind):
    return [event for event in view.timeline if event.kind is kind]


async def durable_events(handle) -> list[int]:
    """History event types other than workflow tasks, once the workflow has finished what it started (a new
    case is still projecting when it first answers): the test server persists the (speculative) workflow
    task that ran a rejected update's validator, a real server drops it; neither records more."""
    workflow_task = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
    return [e.event_type for e in await quiescent(handle) if e.event_type not in workflow_task]


def offset(view, event) -> timedelta:
    """When an event happened, counted from the report, to the second (timers fire a few ms late)."""
    return timedelta(seconds=int((event.at - view.reported_at).total_seconds()))


async def test_ordinary_resolved_at_council_within_30_minutes(harness):
    handle, _ = await harness.report(category="SEWER_BLOCKAGE")
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    await harness.env.sleep(timedelta(minutes=3))
    await handle.execute_update(CaseWorkflow.arrive, Arrive(actor=PROPERTY, note="on site"))
    await harness.env.sleep(timedelta(minutes=15))
    view = await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=PROPERTY, summary="pipe cleared"))
    assert view.status is Status.IN_PROGRESS and view.proposal is not None  # waiting for a second party
    view = await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=OWNERS, agree=True))
    assert view.status is Status.RESOLVED
    assert view.resolved_level is Level.COUNCIL
    assert not view.breaches and view.auto_escalations == 0
    await harness.env.sleep(timedelta(hours=1))
    view = await harness.view(handle)
    assert view.level is Level.COUNCIL and not events(view, EventKind.ESCALATED)
    assert events(view, EventKind.ARRIVED)[0].details["on_time"] is True


async def test_ordinary_left_alone_climbs_every_level_on_its_budget(harness, pool):
    handle, _ = await harness.report(category="CORRIDOR_CLUTTER")
    await harness.env.sleep(timedelta(minutes=23))
    assert not events(await harness.view(handle), EventKind.WARNING)
    await harness.env.sleep(timedelta(days=5))
    await quiescent(handle)  # the last breach's projection may still be running when the sleep returns
    view = await harness.view(handle)
    warnings = events(view, EventKind.WARNING)
    escalations = events(view, EventKind.ESCALATED)
    assert offset(view, warnings[0]) == timedelta(minutes=24)
    assert [(e.details["from"], e.details["to"]) for e in escalations] == [
        ("COUNCIL", "COMMUNITY"),
        ("COMMUNITY", "STREET"),
        ("STREET", "DISTRICT"),
    ]
    assert [offset(view, e) for e in escalations] == [
        timedelta(minutes=30),
        timedelta(minutes=30, hours=4),
        timedelta(minutes=30, hours=4, days=1),
    ]
    assert all(e.details["automatic"] for e in escalations)
    assert [b.org for b in view.breaches][:3] == ["PM-LVYUAN", "HP-DF-QH", "HP-DF"]
    assert view.level is Level.DISTRICT and view.auto_escalations == 3
    # the district's own 3-day budget ran out too: flagged, nowhere higher to go
    assert view.overdue and view.supervision and view.breaches[-1].org == "HP-CENTRE"
    # the read model saw every event exactly once
    rows = await pool.fetch("SELECT seq FROM case_events WHERE case_id = $1 ORDER BY seq", view.case_id)
    assert [r["seq"] for r in rows] == [e.seq for e in view.timeline]
    row = await pool.fetchrow("SELECT level, last_seq FROM cases WHERE case_id = $1", view.case_id)
    assert row["level"] == "DISTRICT" and row["last_seq"] == len(view.timeline)


async def test_major_case_escalates_after_four_hours(harness):
    handle, _ = await harness.report(category="CORRIDOR_CLUTTER", severity=Severity.MAJOR)
    await harness.env.sleep(timedelta(hours=3, minutes=59))
    assert (await harness.view(handle)).level is Level.COUNCIL
    await harness.env.sleep(timedelta(minutes=2))
    view = await harness.view(handle)
    assert view.level is Level.COMMUNITY
    assert offset(view, events(view, EventKind.ESCALATED)[0]) == timedelta(hours=4)


async def test_complex_case_without_plan_escalates_after_a_day(harness):
    handle, _ = await harness.report(category="PARKING")
    view = await harness.view(handle)
    assert view.severity is Severity.COMPLEX
    await harness.env.sleep(timedelta(hours=25))
    view = await harness.view(handle)
    assert offset(view, events(view, EventKind.ESCALATED)[0]) == timedelta(days=1)


async def test_complex_case_plan_date_becomes_the_deadline(harness):
    handle, _ = await harness.report(category="PARKING")
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    view = await harness.view(handle)
    due = view.reported_at + timedelta(days=10)
    view = await handle.execute_update(CaseWorkflow.plan, PresentPlan(actor=PROPERTY, summary="new spaces", due_at=due))
    assert view.deadline == due
    await harness.env.sleep(timedelta(days=9))
    assert (await harness.view(handle)).level is Level.COUNCIL
    await harness.env.sleep(timedelta(days=1, hours=1))
    view = await harness.view(handle)
    assert view.level is Level.COMMUNITY
    assert offset(view, events(view, EventKind.ESCALATED)[0]) == timedelta(days=10)


async def test_arrival_breach_at_five_minutes_is_recorded_without_escalating(harness):
    handle, _ = await harness.report(category="SEWER_BLOCKAGE")
    await harness.env.sleep(timedelta(minutes=6))
    view = await harness.view(handle)
    breach = events(view, EventKind.ARRIVAL_BREACHED)
    assert len(breach) == 1 and offset(view, breach[0]) == timedelta(minutes=5)
    assert breach[0].details["against"] == "PM-LVYUAN"
    assert view.level is Level.COUNCIL and not events(view, EventKind.ESCALATED)
    view = await handle.execute_update(CaseWorkflow.arrive, Arrive(actor=PROPERTY))
    assert events(view, EventKind.ARRIVED)[0].details["on_time"] is False


async def test_manual_whistle_at_each_level(harness):
    handle, _ = await harness.report(category="NOISE")
    view = await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=OWNERS, reason="beyond the council"))
    assert view.level is Level.COMMUNITY and view.owner == "HP-DF-QH"
    view = await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=COMMUNITY, reason="needs the street"))
    assert view.level is Level.STREET
    view = await handle.execute_update(
        CaseWorkflow.whistle,
        Whistle(actor=STREET, reason="needs enforcement", departments=DepartmentSummons(lead="PSB", assist=["HB"])),
    )
    assert view.level is Level.DISTRICT and view.whistles == 3 and view.auto_escalations == 0
    assert [e.details["department"] for e in events(view, EventKind.TASK_SUMMONED)] == ["PSB", "HB"]
    assert all(not e.details["automatic"] for e in events(view, EventKind.ESCALATED))
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=CENTRE, reason="again"))
    assert "already at DISTRICT" in str(rejected.value.cause)


async def test_council_quorum_objection_then_two_agree(harness):
    handle, _ = await harness.report()
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=PROPERTY, summary="corridor cleared"))
    view = await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=OWNERS, agree=False, comment="still bikes"))
    assert view.status is Status.IN_PROGRESS and view.proposal.objected == 1
    view = await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=COMMUNITY, agree=True))
    assert view.status is Status.RESOLVED
    assert [(v.party, v.agree) for v in view.proposal.votes] if view.proposal else True
    kinds = [e.kind for e in view.timeline]
    assert kinds.count(EventKind.SIGNED_OFF) == 2 and kinds.count(EventKind.OBJECTED) == 1


async def test_council_without_quorum_by_deadline_escalates(harness):
    handle, _ = await harness.report()
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=PROPERTY, summary="done"))
    await harness.env.sleep(timedelta(minutes=31))
    view = await harness.view(handle)
    assert view.level is Level.COMMUNITY and view.proposal is None and view.status is Status.REPORTED


async def test_two_objections_fail_the_proposal(harness):
    handle, _ = await harness.report()
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=PROPERTY, summary="done"))
    await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=OWNERS, agree=False))
    view = await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=COMMUNITY, agree=False))
    assert view.proposal is None and view.status is Status.IN_PROGRESS
    assert events(view, EventKind.PROPOSAL_FAILED)


async def test_extension_approved_moves_the_deadline(harness):
    handle, _ = await harness.report()
    view = await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    until = view.reported_at + timedelta(hours=2)
    await handle.execute_update(
        CaseWorkflow.request_extension, RequestExtension(actor=PROPERTY, until=until, reason="waiting for the owner")
    )
    view = await handle.execute_update(
        CaseWorkflow.decide_extension, DecideExtension(actor=COMMUNITY, approve=True, reason="reasonable")
    )
    assert view.deadline == until and view.extension is None
    await harness.env.sleep(timedelta(hours=1))
    assert (await harness.view(handle)).level is Level.COUNCIL
    await harness.env.sleep(timedelta(hours=1, minutes=1))
    view = await harness.view(handle)
    assert view.level is Level.COMMUNITY and offset(view, events(view, EventKind.ESCALATED)[0]) == timedelta(hours=2)


async def test_extension_denied_keeps_the_deadline(harness):
    handle, _ = await harness.report()
    view = await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    original = view.deadline
    await handle.execute_update(
        CaseWorkflow.request_extension,
        RequestExtension(actor=PROPERTY, until=original + timedelta(hours=1), reason="busy"),
    )
    view = await handle.execute_update(
        CaseWorkflow.decide_extension, DecideExtension(actor=CENTRE, approve=False, reason="no")
    )
    assert view.deadline == original and events(view, EventKind.EXTENSION_DENIED)
    await harness.env.sleep(timedelta(minutes=31))
    assert (await harness.view(handle)).level is Level.COMMUNITY


async def test_supervisor_urges_and_forces_escalation(harness):
    handle, _ = await harness.report()
    view = await handle.execute_update(
        CaseWorkflow.supervise, Supervise(actor=CENTRE, action=SuperviseAction.URGE, reason="residents complain")
    )
    assert view.supervision and events(view, EventKind.SUPERVISED)[0].details["against"] == ["PM-LVYUAN"]
    view = await handle.execute_update(
        CaseWorkflow.supervise, Supervise(actor=CENTRE, action=SuperviseAction.ESCALATE, reason="stuck")
    )
    assert view.level is Level.COMMUNITY


@pytest.mark.parametrize(
    ("make_update", "message"),
    [
        (lambda: (CaseWorkflow.accept, Accept(actor=STREET)), "cannot accept at COUNCIL"),
        (lambda: (CaseWorkflow.resolve, Resolve(actor=PROPERTY, summary="x")), "before the case is accepted"),
        (lambda: (CaseWorkflow.signoff, Signoff(actor=OWNERS, agree=True)), "no proposed resolution"),
        (
            lambda: (CaseWorkflow.plan, PresentPlan(actor=PROPERTY, summary="x", due_at="2030-01-01T00:00:00Z")),
            "plans are for COMPLEX",
        ),
        (
            lambda: (CaseWorkflow.decide_extension, DecideExtension(actor=COMMUNITY, approve=True, reason="x")),
            "no extension request",
        ),
        (lambda: (CaseWorkflow.supervise, Supervise(actor=STREET, reason="x")), "not a supervisor"),
        (lambda: (CaseWorkflow.note, AddNote(actor=Actor(org="PM-JINDI"), text="hi")), "not a participant"),
        (
            lambda: (
                CaseWorkflow.whistle,
                Whistle(actor=PROPERTY, reason="x", departments=DepartmentSummons(lead="PSB")),
            ),
            "only the street names departments",
        ),
    ],
)
async def test_invalid_action_is_rejected_and_changes_nothing(harness, make_update, message):
    handle, _ = await harness.report()
    events_before = await durable_events(handle)
    before = await harness.view(handle)
    update, payload = make_update()
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(update, payload)
    assert message in str(rejected.value.cause)
    assert rejected.value.cause.type in ("Forbidden", "InvalidTransition", "InvalidInput")
    after = await harness.view(handle)
    assert after.timeline == before.timeline and after.status == before.status
    assert await durable_events(handle) == events_before


async def test_closed_case_accepts_nothing(harness):
    handle, token = await harness.report()
    from schemas.case import Withdraw

    await handle.execute_update(CaseWorkflow.withdraw, Withdraw(token=token, reason="sorted it myself"))
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=PROPERTY))
    assert rejected.value.cause.type == "CaseClosed" and "is closed" in str(rejected.value.cause)
