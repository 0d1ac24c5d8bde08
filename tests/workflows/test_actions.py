"""One source for "what may this organisation do now": the `actions` of a case (and of a department task)
offer exactly the actions whose validators let a valid command through, for every organisation, in a set of
case states built by the rules themselves (CaseState, no Temporal), and through the workflows' queries."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError

from activities import registry
from schemas.actions import ActionKind
from schemas.case import (
    Accept,
    Actor,
    AddNote,
    Arrive,
    CaseReport,
    CaseStart,
    Conclude,
    DecideExtension,
    DecidePause,
    DepartmentSummons,
    EventKind,
    PresentPlan,
    RequestExtension,
    RequestPause,
    Resolve,
    Resume,
    Signoff,
    Supervise,
    Whistle,
    Withdraw,
)
from schemas.domain import Severity
from schemas.pause import PauseReason
from schemas.task import (
    TaskAccept,
    TaskActor,
    TaskChange,
    TaskComplete,
    TaskExtension,
    TaskNote,
    TaskPause,
    TaskReturn,
    TaskStatus,
)
from tests.waiting import eventually
from workflows.case import CaseWorkflow
from workflows.case_state import CaseState, Rejected, token_hash
from workflows.department_task import DepartmentTaskWorkflow as Task

COMPOUND, CATEGORY = "HP-DF-QH-1", "CORRIDOR_CLUTTER"
TOKEN = "resident-access-token-0001"
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
OUTSIDER = "PM-HUAXIA"  # a property company of another compound


def attempt(case: CaseState, kind: ActionKind, org: str, now: datetime) -> None:
    """Run the validator of `kind` with a command that is valid in its content (raises `Rejected`)."""
    actor = Actor(org=org)
    idle = [code for code in case.ctx.departments if code not in case.tasks or not case.tasks[code].status.is_open]
    checks: dict[ActionKind, Callable[[], None]] = {
        ActionKind.ACCEPT: lambda: case.check_accept(Accept(actor=actor)),
        ActionKind.ARRIVE: lambda: case.check_arrive(Arrive(actor=actor)),
        ActionKind.NOTE: lambda: case.check_note(AddNote(actor=actor, text="on it")),
        ActionKind.PLAN: lambda: case.check_plan(
            PresentPlan(actor=actor, summary="plan", due_at=now + timedelta(hours=1)), now
        ),
        ActionKind.RESOLVE: lambda: case.check_resolve(Resolve(actor=actor, summary="cleared")),
        ActionKind.SIGNOFF: lambda: case.check_signoff(Signoff(actor=actor, agree=True)),
        ActionKind.WHISTLE: lambda: case.check_whistle(Whistle(actor=actor, reason="need help")),
        ActionKind.REQUEST_EXTENSION: lambda: case.check_request_extension(
            RequestExtension(actor=actor, until=case.stage.deadline + timedelta(minutes=1), reason="parts"), now
        ),
        ActionKind.DECIDE_EXTENSION: lambda: case.check_decide_extension(
            DecideExtension(actor=actor, approve=True, reason="ok")
        ),
        ActionKind.REQUEST_PAUSE: lambda: case.check_request_pause(
            RequestPause(actor=actor, reason=PauseReason.WEATHER), now
        ),
        ActionKind.DECIDE_PAUSE: lambda: case.check_decide_pause(DecidePause(actor=actor, approve=True, reason="ok")),
        ActionKind.RESUME: lambda: case.check_resume(Resume(actor=actor)),
        ActionKind.SUPERVISE: lambda: case.check_supervise(Supervise(actor=actor, reason="hurry")),
        ActionKind.DISPATCH: lambda: case.check_dispatch(org, "V-1"),
        ActionKind.REROUTE: lambda: case.check_reroute(org, DepartmentSummons(lead=idle[0])),
        ActionKind.CONCLUDE: lambda: case.check_conclude(Conclude(actor=actor, reason="enough")),
    }
    checks[kind]()


def task_change(case: CaseState, department: str, status: TaskStatus, kind: EventKind) -> TaskChange:
    task = case.tasks[department].model_copy(update={"status": status, "version": 1})
    return TaskChange(kind=kind, task=task, actor=department)


@pytest_asyncio.fixture(loop_scope="session")
async def states(pool) -> dict[str, tuple[CaseState, datetime]]:
    """Named case states, each reached by applying commands in order."""
    async with pool.acquire() as connection:
        context = await registry.case_context(connection, COMPOUND, CATEGORY, "default")

    def new(severity: Severity | None = None) -> CaseState:
        report = CaseReport(compound=COMPOUND, category=CATEGORY, description="boxes", severity=severity)
        start = CaseStart(case_id="WH-20261123-000001", report=report, token_hash=token_hash(TOKEN))
        return CaseState(start, context, START, patched=lambda _: True)

    company = context.council_owner
    owners = next(org for org in context.council.values() if org != company)
    community, street = Actor(org=context.community_org), Actor(org=context.street_org)
    now = START + timedelta(minutes=5)
    lead, assist = context.departments[0], context.departments[1]
    built: dict[str, tuple[CaseState, datetime]] = {}

    def keep(name: str, steps: Callable[[CaseState], None], severity: Severity | None = None) -> None:
        case = new(severity)
        steps(case)
        built[name] = (case, now)

    def accepted(case: CaseState) -> None:
        case.apply_accept(Accept(actor=Actor(org=company)), now)

    def proposed(case: CaseState) -> None:
        accepted(case)
        case.apply_resolve(Resolve(actor=Actor(org=company), summary="cleared"), now)

    def extension_asked(case: CaseState) -> None:
        accepted(case)
        until = case.stage.deadline + timedelta(hours=1)
        case.apply_request_extension(RequestExtension(actor=Actor(org=company), until=until, reason="x"), now)

    def pause_asked(case: CaseState) -> None:
        accepted(case)
        case.apply_request_pause(RequestPause(actor=Actor(org=company), reason=PauseReason.WEATHER), now)

    def paused(case: CaseState) -> None:
        pause_asked(case)
        assert case.pause is not None
        case.apply_decide_pause(DecidePause(actor=Actor(org=case.pause.decider), approve=True, reason="ok"), now)

    def at_community(case: CaseState) -> None:
        case.apply_whistle(Whistle(actor=Actor(org=company), reason="stuck"), now)

    def at_street(case: CaseState) -> None:
        at_community(case)
        case.apply_accept(Accept(actor=community), now)
        case.apply_whistle(Whistle(actor=community, reason="stuck"), now)

    def at_district(case: CaseState) -> None:
        at_street(case)
        summons = DepartmentSummons(lead=lead, assist=[assist])
        case.apply_whistle(Whistle(actor=street, reason="departments", departments=summons), now)
        case.summons.clear()

    def one_returned(case: CaseState) -> None:
        at_district(case)
        case.apply_task_change(task_change(case, lead, TaskStatus.ACCEPTED, EventKind.TASK_ACCEPTED), now)
        case.apply_task_change(task_change(case, lead, TaskStatus.COMPLETED, EventKind.TASK_COMPLETED), now)
        case.apply_task_change(task_change(case, assist, TaskStatus.RETURNED, EventKind.TASK_RETURNED), now)

    def resolved(case: CaseState) -> None:
        at_community(case)
        case.apply_accept(Accept(actor=community), now)
        case.apply_resolve(Resolve(actor=community, summary="done"), now)

    def withdrawn(case: CaseState) -> None:
        case.apply_withdraw(Withdraw(token=TOKEN), now)

    keep("reported", lambda case: None)
    keep("accepted", accepted)
    keep("proposed", proposed)
    keep("objected", proposed)
    keep("extension asked", extension_asked)
    keep("pause asked", pause_asked)
    keep("paused", paused)
    keep("community", at_community)
    keep("street", at_street)
    keep("district", at_district)
    keep("one returned", one_returned)
    keep("resolved", resolved)
    keep("withdrawn", withdrawn)
    keep("complex accepted", accepted, Severity.COMPLEX)
    case = built["objected"][0]
    case.apply_signoff(Signoff(actor=Actor(org=owners), agree=False, comment="not yet"), now)
    return built


def organisations(case: CaseState) -> list[str]:
    ctx = case.ctx
    return sorted(
        {*ctx.council.values(), ctx.community_org, ctx.street_org, ctx.district_org, *ctx.departments[:3]}
    ) + [OUTSIDER]


async def test_actions_offered_are_exactly_those_the_validators_accept(states):
    offered_somewhere: set[ActionKind] = set()
    for state, (case, now) in states.items():
        for org in organisations(case):
            offered = case.actions(org)
            offered_somewhere.update(offered)
            for kind in ActionKind:
                if kind in (ActionKind.COMPLETE, ActionKind.RETURN):
                    continue  # a department's task actions (below)
                try:
                    attempt(case, kind, org, now)
                except Rejected as refusal:
                    assert kind not in offered, f"{state}: {org} offered {kind}, but refused: {refusal}"
                else:
                    assert kind in offered, f"{state}: {org} not offered {kind}, but the validator lets it through"
    case_kinds = set(ActionKind) - {ActionKind.COMPLETE, ActionKind.RETURN}
    assert offered_somewhere == case_kinds  # the states reach every action


async def test_the_council_offers_each_party_its_own_actions(states):
    case, _ = states["proposed"]
    company = case.ctx.council_owner
    others = [org for org in case.ctx.council.values() if org != company]
    assert ActionKind.SIGNOFF not in case.actions(company)  # it proposed: its vote is in
    assert all(ActionKind.SIGNOFF in case.actions(org) for org in others)
    assert case.actions(OUTSIDER) == []
    assert case.actions(case.ctx.street_org) == [ActionKind.NOTE]


def task_attempts(org: str, now: datetime) -> dict[ActionKind, Callable[[], object]]:
    actor, department = Actor(org=org), TaskActor(department=org)
    return {
        ActionKind.ACCEPT: lambda: (Task.accept, TaskAccept(actor=department)),
        ActionKind.NOTE: lambda: (Task.note, TaskNote(actor=department, text="on it")),
        ActionKind.COMPLETE: lambda: (Task.complete, TaskComplete(actor=department, result="fixed")),
        ActionKind.RETURN: lambda: (Task.return_task, TaskReturn(actor=department, reason="not ours")),
        ActionKind.REQUEST_EXTENSION: lambda: (
            Task.request_extension,
            TaskExtension(actor=department, until=now + timedelta(days=30), reason="parts"),
        ),
        ActionKind.REQUEST_PAUSE: lambda: (Task.request_pause, TaskPause(actor=department, reason=PauseReason.WEATHER)),
        ActionKind.DECIDE_EXTENSION: lambda: (
            Task.decide_extension,
            DecideExtension(actor=actor, approve=True, reason="ok"),
        ),
        ActionKind.DECIDE_PAUSE: lambda: (Task.decide_pause, DecidePause(actor=actor, approve=True, reason="ok")),
        ActionKind.RESUME: lambda: (Task.resume, Resume(actor=actor)),
    }


async def task_actions(task, org: str) -> list[ActionKind]:
    """The task's `actions` once its workflow has opened (a summoned child answers after its first step)."""

    async def probe() -> list[ActionKind] | None:
        try:
            return await task.query(Task.actions, org)
        except WorkflowQueryFailedError:
            return None

    return await eventually(probe, lambda answer: answer is not None, what="the task to open")


@pytest.mark.parametrize("harness", ["cached"], indirect=True)
async def test_the_queries_answer_what_the_validators_accept(harness):
    """Through Temporal: the case's and the department task's `actions` queries; every action withheld is
    refused by its update validator (a refusal leaves no trace in the history)."""
    handle, _ = await harness.report()
    company, community, street = Actor(org="PM-LVYUAN"), Actor(org="HP-DF-QH"), Actor(org="HP-DF")
    assert await handle.query(CaseWorkflow.actions, company.org) == [
        ActionKind.ACCEPT,
        ActionKind.ARRIVE,
        ActionKind.NOTE,
        ActionKind.WHISTLE,
        ActionKind.REQUEST_EXTENSION,
        ActionKind.REQUEST_PAUSE,
    ]
    assert await handle.query(CaseWorkflow.actions, OUTSIDER) == []
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org=OUTSIDER)))
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=company, reason="stuck"))
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=community, reason="stuck"))
    summons = DepartmentSummons(lead="CGZF", assist=["GH"])
    view = await handle.execute_update(
        CaseWorkflow.whistle, Whistle(actor=street, reason="departments", departments=summons)
    )
    task = harness.client.get_workflow_handle(next(t.task_id for t in view.tasks if t.department == "CGZF"))
    now = datetime.now(UTC)
    for org in ("CGZF", "GH", "HP-CENTRE", "HP-DF"):
        offered = await task_actions(task, org)
        for kind, command in task_attempts(org, now).items():
            if kind not in offered:
                update, cmd = command()
                with pytest.raises(WorkflowUpdateFailedError):
                    await task.execute_update(update, cmd)
    assert await task_actions(task, "CGZF") == [
        ActionKind.ACCEPT,
        ActionKind.NOTE,
        ActionKind.RETURN,
        ActionKind.REQUEST_PAUSE,
    ]
    await task.execute_update(Task.accept, TaskAccept(actor=TaskActor(department="CGZF")))
    assert await task_actions(task, "CGZF") == [
        ActionKind.NOTE,
        ActionKind.COMPLETE,
        ActionKind.RETURN,
        ActionKind.REQUEST_EXTENSION,
        ActionKind.REQUEST_PAUSE,
    ]
    assert await task_actions(task, "GH") == []
    assert await handle.query(CaseWorkflow.actions, street.org) == [ActionKind.NOTE]
