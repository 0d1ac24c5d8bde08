"""District departments report for duty: task children, supervision, returns and reroutes, volunteers."""

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from schemas.case import (
    Accept,
    Actor,
    Conclude,
    DecideExtension,
    DepartmentSummons,
    EventKind,
    Feedback,
    Reroute,
    Resolve,
    VolunteerAction,
    VolunteerDispatch,
    Whistle,
    Withdraw,
)
from schemas.domain import Level, Status
from schemas.task import (
    TaskAccept,
    TaskActor,
    TaskComplete,
    TaskExtension,
    TaskReturn,
    TaskStatus,
    task_workflow_id,
)
from tests.waiting import eventually
from tests.workflows.ladder import CENTRE, COMMUNITY, OWNERS, STREET, kinds, replays
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow


async def to_district(harness, lead: str = "CGZF", assist: list[str] | None = None, **report):
    handle, token = await harness.report(category="ILLEGAL_CONSTRUCTION", **report)
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=OWNERS, reason="an extension on the roof"))
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=COMMUNITY, reason="needs enforcement"))
    view = await handle.execute_update(
        CaseWorkflow.whistle,
        Whistle(
            actor=STREET, reason="summon enforcement", departments=DepartmentSummons(lead=lead, assist=assist or [])
        ),
    )
    assert view.level is Level.DISTRICT
    return handle, token, view.case_id


def task(harness, case_id: str, department: str):
    return harness.client.get_workflow_handle_for(DepartmentTaskWorkflow.run, task_workflow_id(case_id, department))


async def settled(harness, handle, predicate):
    """Department signals reach the case asynchronously: wait (real time, the clock stays put) for the case to
    show them."""
    return await eventually(lambda: harness.view(handle), predicate, what="the case's state", show=kinds)


async def act(harness, case_id, department, update, payload):
    return await task(harness, case_id, department).execute_update(update, payload)


async def test_two_departments_complete_and_the_case_resolves(harness, pool):
    handle, _, case_id = await to_district(harness, "CGZF", ["GH"])
    for code in ("CGZF", "GH"):
        actor = TaskActor(department=code)
        await act(harness, case_id, code, DepartmentTaskWorkflow.accept, TaskAccept(actor=actor))
    await act(
        harness,
        case_id,
        "GH",
        DepartmentTaskWorkflow.complete,
        TaskComplete(actor=TaskActor(department="GH"), result="no permit on file"),
    )
    await act(
        harness,
        case_id,
        "CGZF",
        DepartmentTaskWorkflow.complete,
        TaskComplete(
            actor=TaskActor(department="CGZF"),
            result="structure removed",
            evidence_urls=["https://example.org/after.jpg"],
        ),
    )
    view = await settled(harness, handle, lambda v: v.status is Status.RESOLVED)
    assert view.resolved_level is Level.DISTRICT
    completed = [e for e in view.timeline if e.kind is EventKind.TASK_COMPLETED]
    assert {e.details["department"]: e.details["result"] for e in completed} == {
        "GH": "no permit on file",
        "CGZF": "structure removed",
    }
    rows = await pool.fetch("SELECT department, status FROM department_tasks WHERE case_id = $1 ORDER BY 1", case_id)
    assert [(r["department"], r["status"]) for r in rows] == [("CGZF", "COMPLETED"), ("GH", "COMPLETED")]


async def test_lead_complete_but_required_assistant_open_is_not_resolved(harness):
    handle, _, case_id = await to_district(harness, "CGZF", ["GH"])
    lead = TaskActor(department="CGZF")
    await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.accept, TaskAccept(actor=lead))
    await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.complete, TaskComplete(actor=lead, result="done"))
    view = await settled(harness, handle, lambda v: EventKind.TASK_COMPLETED in kinds(v))
    assert view.status is Status.IN_PROGRESS
    assert {t.department: t.status for t in view.tasks} == {"CGZF": TaskStatus.COMPLETED, "GH": TaskStatus.SUMMONED}
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=Actor(org="HP-CENTRE"), summary="x"))
    assert "waiting for GH" in str(rejected.value.cause)


async def test_late_accept_is_supervised_with_bounded_backoff_reminders(harness, pool):
    handle, _, case_id = await to_district(harness, "CGZF")
    await harness.env.sleep(timedelta(hours=1, minutes=59))
    assert EventKind.TASK_OVERDUE not in kinds(await harness.view(handle))
    await harness.env.sleep(timedelta(days=3))
    view = await settled(harness, handle, lambda v: kinds(v).count(EventKind.TASK_OVERDUE) == 6)
    overdue = [e for e in view.timeline if e.kind is EventKind.TASK_OVERDUE]
    summoned = next(e for e in view.timeline if e.kind is EventKind.TASK_SUMMONED).at
    # missed at 2 h, then reminders after 1, 2, 4, 8, 8 hours (back-off capped at 8 h, at most 5)
    hours = [round((e.at - summoned).total_seconds() / 3600) for e in overdue]
    assert hours == [2, 3, 5, 9, 17, 25]
    assert [e.details["reminder"] for e in overdue] == [0, 1, 2, 3, 4, 5]
    assert all(e.details["supervisor"] == "HP-CENTRE" and e.details["phase"] == "accept" for e in overdue)
    assert view.supervision
    task_view = view.tasks[0]
    assert task_view.overdue and task_view.supervision and task_view.reminders == 5
    await harness.env.sleep(timedelta(days=2))
    assert kinds(await harness.view(handle)).count(EventKind.TASK_OVERDUE) == 6  # no spam after the last one
    await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.accept, TaskAccept(actor=TaskActor(department="CGZF")))
    view = await settled(harness, handle, lambda v: EventKind.TASK_ACCEPTED in kinds(v))
    assert view.status is Status.IN_PROGRESS
    row = await pool.fetchrow("SELECT status, supervision FROM department_tasks WHERE case_id = $1", case_id)
    assert row["status"] == "ACCEPTED" and row["supervision"]


async def test_return_then_street_reroutes(harness):
    handle, _, case_id = await to_district(harness, "HB", ["GH"])
    await act(
        harness,
        case_id,
        "HB",
        DepartmentTaskWorkflow.return_task,
        TaskReturn(actor=TaskActor(department="HB"), reason="construction is not our remit"),
    )
    view = await settled(harness, handle, lambda v: EventKind.TASK_RETURNED in kinds(v))
    assert EventKind.ALL_RETURNED not in kinds(view)  # GH still holds it
    view = await handle.execute_update(
        CaseWorkflow.reroute,
        Reroute(actor=STREET, departments=DepartmentSummons(lead="CGZF"), reason="enforcement leads"),
    )
    assert EventKind.REROUTED in kinds(view)
    view = await settled(harness, handle, lambda v: any(t.department == "CGZF" for t in v.tasks))
    statuses = {t.department: t.status for t in view.tasks}
    assert statuses == {"HB": TaskStatus.RETURNED, "GH": TaskStatus.SUMMONED, "CGZF": TaskStatus.SUMMONED}
    for code, result in (("CGZF", "removed"), ("GH", "no permit")):
        actor = TaskActor(department=code)
        await act(harness, case_id, code, DepartmentTaskWorkflow.accept, TaskAccept(actor=actor))
        await act(harness, case_id, code, DepartmentTaskWorkflow.complete, TaskComplete(actor=actor, result=result))
    await settled(harness, handle, lambda v: v.status is Status.RESOLVED)


async def accept_and_complete(harness, case_id: str, code: str, result: str = "done") -> None:
    actor = TaskActor(department=code)
    await act(harness, case_id, code, DepartmentTaskWorkflow.accept, TaskAccept(actor=actor))
    await act(harness, case_id, code, DepartmentTaskWorkflow.complete, TaskComplete(actor=actor, result=result))


async def give_back(harness, case_id: str, code: str, reason: str = "not our remit") -> None:
    await act(
        harness,
        case_id,
        code,
        DepartmentTaskWorkflow.return_task,
        TaskReturn(actor=TaskActor(department=code), reason=reason),
    )


async def rejected_update(handle, update, payload) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(update, payload)
    return str(rejected.value.cause)


async def test_lead_completes_then_assistant_returns_and_the_street_concludes(harness):
    handle, _, case_id = await to_district(harness, "CGZF", ["GH"])
    await accept_and_complete(harness, case_id, "CGZF", "structure removed")
    await settled(harness, handle, lambda v: EventKind.TASK_COMPLETED in kinds(v))
    await give_back(harness, case_id, "GH")
    view = await settled(harness, handle, lambda v: EventKind.TASK_RETURNED in kinds(v))
    assert view.status is Status.IN_PROGRESS and EventKind.RESOLVED not in kinds(view)
    assert view.returned == ["GH"]
    assert "the street HP-DF decides next" in await rejected_update(
        handle, CaseWorkflow.resolve, Resolve(actor=CENTRE, summary="done anyway")
    )
    assert "only the street office HP-DF" in await rejected_update(
        handle, CaseWorkflow.conclude, Conclude(actor=CENTRE, reason="x")
    )
    view = await handle.execute_update(
        CaseWorkflow.conclude, Conclude(actor=STREET, reason="the structure is gone; planning has nothing to add")
    )
    assert view.status is Status.RESOLVED and view.returned == []
    concluded, resolved = view.timeline[-2:]
    assert (concluded.kind, concluded.actor) == (EventKind.CONCLUDED, "HP-DF")
    assert concluded.details == {
        "reason": "the structure is gone; planning has nothing to add",
        "returned": ["GH"],
        "completed": ["CGZF"],
    }
    assert (resolved.kind, resolved.actor) == (EventKind.RESOLVED, "HP-DF")
    assert resolved.details["summary"] == "the structure is gone; planning has nothing to add"


async def test_assistant_returns_then_lead_completes_and_the_street_reroutes(harness):
    handle, _, case_id = await to_district(harness, "CGZF", ["GH"])
    await give_back(harness, case_id, "GH")
    await settled(harness, handle, lambda v: EventKind.TASK_RETURNED in kinds(v))
    await accept_and_complete(harness, case_id, "CGZF", "structure removed")
    view = await settled(harness, handle, lambda v: EventKind.TASK_COMPLETED in kinds(v))
    assert view.status is Status.IN_PROGRESS and EventKind.RESOLVED not in kinds(view)
    assert view.returned == ["GH"]
    view = await handle.execute_update(
        CaseWorkflow.reroute,
        Reroute(actor=STREET, departments=DepartmentSummons(lead="ZJW"), reason="housing checks the permit"),
    )
    assert view.returned == [] and view.status is Status.IN_PROGRESS
    assert "no department has returned" in await rejected_update(
        handle, CaseWorkflow.conclude, Conclude(actor=STREET, reason="x")
    )
    await accept_and_complete(harness, case_id, "ZJW", "no permit; fined")
    view = await settled(harness, handle, lambda v: v.status is Status.RESOLVED)
    assert view.timeline[-1].actor == "ZJW"


async def test_lead_returns_while_the_assistant_works(harness):
    handle, _, case_id = await to_district(harness, "CGZF", ["GH"])
    await act(harness, case_id, "GH", DepartmentTaskWorkflow.accept, TaskAccept(actor=TaskActor(department="GH")))
    await give_back(harness, case_id, "CGZF")
    view = await settled(harness, handle, lambda v: EventKind.TASK_RETURNED in kinds(v))
    assert view.returned == ["CGZF"] and EventKind.ALL_RETURNED not in kinds(view)
    assert "GH still working" in await rejected_update(
        handle, CaseWorkflow.conclude, Conclude(actor=STREET, reason="planning will do")
    )
    await act(
        harness,
        case_id,
        "GH",
        DepartmentTaskWorkflow.complete,
        TaskComplete(actor=TaskActor(department="GH"), result="permit revoked"),
    )
    view = await settled(harness, handle, lambda v: EventKind.TASK_COMPLETED in kinds(v))
    assert view.status is Status.IN_PROGRESS
    view = await handle.execute_update(CaseWorkflow.conclude, Conclude(actor=STREET, reason="the revocation suffices"))
    assert view.status is Status.RESOLVED and view.timeline[-1].actor == "HP-DF"


async def test_conclude_needs_completed_work_and_a_pending_return(harness):
    handle, _, case_id = await to_district(harness, "HB")
    assert "no department has returned" in await rejected_update(
        handle, CaseWorkflow.conclude, Conclude(actor=STREET, reason="x")
    )
    await give_back(harness, case_id, "HB")
    await settled(harness, handle, lambda v: EventKind.ALL_RETURNED in kinds(v))
    assert "no department has completed any work" in await rejected_update(
        handle, CaseWorkflow.conclude, Conclude(actor=STREET, reason="x")
    )
    view = await harness.view(handle)
    assert view.status is Status.REPORTED and view.returned == ["HB"]


async def test_task_extension_request_and_decisions_are_distinct_events(harness, pool):
    handle, _, case_id = await to_district(harness, "CGZF")
    lead = TaskActor(department="CGZF")
    accepted = await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.accept, TaskAccept(actor=lead))
    until = accepted.work_due + timedelta(days=2)
    for approve in (False, True):
        request = TaskExtension(actor=lead, until=until, reason="parts on order")
        pending = await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.request_extension, request)
        assert (pending.extension.by, pending.extension.until, pending.extension.reason) == (
            "CGZF",
            until,
            "parts on order",
        )
        view = await settled(harness, handle, lambda v: v.tasks[0].extension is not None)
        requested = view.timeline[-1]
        assert (requested.kind, requested.actor) == (EventKind.TASK_EXTENSION_REQUESTED, "CGZF")
        assert requested.details["decider"] == "HP-CENTRE"
        decision = DecideExtension(actor=CENTRE, approve=approve, reason="ok" if approve else "work faster")
        decided = await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.decide_extension, decision)
        assert decided.extension is None
        assert decided.work_due == (until if approve else accepted.work_due)
        view = await settled(harness, handle, lambda v: v.tasks[0].extension is None)
    events = [(e.kind, e.actor) for e in view.timeline if e.kind.startswith("TASK_EXTENSION")]
    assert events == [
        (EventKind.TASK_EXTENSION_REQUESTED, "CGZF"),
        (EventKind.TASK_EXTENSION_DENIED, "HP-CENTRE"),
        (EventKind.TASK_EXTENSION_REQUESTED, "CGZF"),
        (EventKind.TASK_EXTENSION_APPROVED, "HP-CENTRE"),
    ]
    # the centre hears of each request, the department of each decision
    expected = [
        ("HP-CENTRE", "TASK_EXTENSION_REQUESTED"),
        ("CGZF", "TASK_EXTENSION_DENIED"),
        ("HP-CENTRE", "TASK_EXTENSION_REQUESTED"),
        ("CGZF", "TASK_EXTENSION_APPROVED"),
    ]
    sql = "SELECT recipient, topic FROM notifications WHERE case_id = $1 AND topic LIKE 'TASK_EXTENSION%' ORDER BY seq"
    for _ in range(100):  # the projection writes them after the case records the events
        rows = [tuple(row) for row in await pool.fetch(sql, case_id)]
        if rows == expected:
            break
        await harness.env.sleep(timedelta(milliseconds=50))
    assert rows == expected


@pytest.mark.parametrize("recorded", ["case-recorded", "case-recorded-dept-CGZF"])
async def test_histories_recorded_before_returns_went_to_the_street_still_replay(recorded):
    """Recorded with the code before this change: the lead completed, then the assistant returned and the case
    resolved at once (the old rule, kept for cases that did so), with TASK_EXTENDED for request and decision."""
    await replays(recorded)


async def test_reroute_only_by_the_street_after_a_return(harness):
    handle, _, _ = await to_district(harness, "HB")
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(
            CaseWorkflow.reroute, Reroute(actor=STREET, departments=DepartmentSummons(lead="CGZF"), reason="x")
        )
    assert "no department has returned" in str(rejected.value.cause)


async def test_every_department_returns_and_the_supervisor_is_flagged(harness):
    handle, _, case_id = await to_district(harness, "HB", ["GH"])
    for code in ("HB", "GH"):
        await act(
            harness,
            case_id,
            code,
            DepartmentTaskWorkflow.return_task,
            TaskReturn(actor=TaskActor(department=code), reason="not ours"),
        )
    view = await settled(harness, handle, lambda v: EventKind.ALL_RETURNED in kinds(v))
    assert view.supervision
    assert next(e for e in view.timeline if e.kind is EventKind.ALL_RETURNED).details["supervisor"] == "HP-CENTRE"
    # the street has its own budget to reroute (3 days for a MAJOR case); missing it is a breach against the street
    await harness.env.sleep(timedelta(days=2, hours=23))
    assert not (await harness.view(handle)).breaches
    await harness.env.sleep(timedelta(hours=2))
    view = await harness.view(handle)
    assert any(b.org == "HP-DF" for b in view.breaches)


async def test_withdrawal_cancels_open_tasks(harness, pool):
    handle, token, case_id = await to_district(harness, "CGZF", ["GH"])
    await act(harness, case_id, "CGZF", DepartmentTaskWorkflow.accept, TaskAccept(actor=TaskActor(department="CGZF")))
    await handle.execute_update(CaseWorkflow.withdraw, Withdraw(token=token, reason="the owner removed it"))
    result = await handle.result()
    assert result.status is Status.CLOSED
    view = await harness.view(handle)
    cancelled = [e for e in view.timeline if e.kind is EventKind.TASK_CANCELLED]
    assert sorted(e.details["department"] for e in cancelled) == ["CGZF", "GH"]
    assert all("WITHDRAWN" in e.details["reason"] for e in cancelled)
    for code in ("CGZF", "GH"):
        assert (await task(harness, case_id, code).result()).status is TaskStatus.CANCELLED
    rows = await pool.fetch("SELECT status FROM department_tasks WHERE case_id = $1", case_id)
    assert {r["status"] for r in rows} == {"CANCELLED"}


async def test_a_department_cannot_act_on_another_departments_task(harness):
    _, _, case_id = await to_district(harness, "CGZF")
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await act(
            harness, case_id, "CGZF", DepartmentTaskWorkflow.accept, TaskAccept(actor=TaskActor(department="PSB"))
        )
    assert rejected.value.cause.type == "Forbidden"
    assert "PSB cannot accept a task of CGZF" in str(rejected.value.cause)
    assert (await task(harness, case_id, "CGZF").query(DepartmentTaskWorkflow.view)).status is TaskStatus.SUMMONED


async def test_volunteer_dispatch_completion_and_points(harness, pool):
    handle, token = await harness.report(compound="HP-DF-QH-2", category="CORRIDOR_CLUTTER")
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=Actor(org="OC-HP-DF-QH-2"), reason="needs hands"))
    volunteer = "V-HP-DF-QH-1"
    before = await pool.fetchval("SELECT points FROM volunteers WHERE code = $1", volunteer)
    view = await handle.execute_update(CaseWorkflow.dispatch, VolunteerDispatch(actor=COMMUNITY, volunteer=volunteer))
    assert view.volunteer == volunteer and view.status is Status.IN_PROGRESS
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(CaseWorkflow.volunteer, VolunteerAction(volunteer=volunteer, action="complete"))
    assert "accept" in str(rejected.value.cause)
    await handle.execute_update(CaseWorkflow.volunteer, VolunteerAction(volunteer=volunteer, action="accept"))
    view = await handle.execute_update(
        CaseWorkflow.volunteer, VolunteerAction(volunteer=volunteer, action="complete", text="carried the boxes out")
    )
    assert view.status is Status.RESOLVED and view.resolved_level is Level.COMMUNITY
    assert await pool.fetchval("SELECT points FROM volunteers WHERE code = $1", volunteer) == before  # not yet
    await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=5))
    await handle.result()
    assert await pool.fetchval("SELECT points FROM volunteers WHERE code = $1", volunteer) == before + 10
    assert await pool.fetchval("SELECT count(*) FROM volunteer_credits WHERE volunteer = $1", volunteer) >= 1


async def test_only_the_community_dispatches_and_only_at_community(harness):
    handle, _ = await harness.report(compound="HP-DF-QH-2")
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await handle.execute_update(CaseWorkflow.dispatch, VolunteerDispatch(actor=COMMUNITY, volunteer="V-HP-DF-QH-1"))
    assert "dispatched at COMMUNITY" in str(rejected.value.cause)
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org="PM-JINDI")))
