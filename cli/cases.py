"""`whistle case …`: report, show, act on and list cases by hand against a running system."""

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities import registry, search
from cli.stack import Stack, connected
from client import case_reset, cases, logs
from client.startup import StartupError
from i18n.deadlines import counted
from i18n.zone import local_time
from schemas.case import (
    Accept,
    Actor,
    AddNote,
    Arrive,
    CaseReport,
    CaseView,
    Conclude,
    DecideExtension,
    DepartmentSummons,
    Feedback,
    PresentPlan,
    Reporter,
    RequestExtension,
    Reroute,
    Resolve,
    Signoff,
    Supervise,
    VolunteerAction,
    VolunteerDispatch,
    Whistle,
    Withdraw,
)
from schemas.domain import Channel, Level, Severity, Status
from schemas.search import CaseFilter, CaseSort
from workflows.case import CaseWorkflow

app = typer.Typer(help="Report, inspect and act on cases.", no_args_is_help=True)
console = Console()


def run(command: Callable[[Stack], Coroutine[Any, Any, None]]) -> None:
    """Connect to the running system, run the command; every expected failure is one line and exit 1."""
    logs.configure("console", level=30)

    async def main() -> None:
        async with connected() as stack:
            await command(stack)

    try:
        asyncio.run(main())
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "input"
            typer.secho(f"invalid {where}: {problem['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        kind = getattr(cause, "type", None) or "Rejected"
        typer.secho(f"rejected ({kind}): {getattr(cause, 'message', cause)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except RPCError as error:
        closed = error.status == RPCStatusCode.NOT_FOUND and "already completed" in error.message
        message = "rejected (Closed): the case is closed and takes no more actions" if closed else f"whistle: {error}"
        typer.secho(message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except (StartupError, registry.UnknownReference, ValueError, WorkflowQueryFailedError) as error:
        typer.secho(f"whistle: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


@app.command()
def report(
    compound: Annotated[str, typer.Option(help="compound code, e.g. HP-DF-QH-1")],
    category: Annotated[str, typer.Option(help="category code, e.g. SEWER_BLOCKAGE")],
    description: Annotated[str, typer.Option(help="what is wrong")],
    severity: Annotated[Severity | None, typer.Option(help="default: the category's")] = None,
    channel: Annotated[Channel, typer.Option()] = Channel.APP,
    external_id: Annotated[str | None, typer.Option(help="12345 ticket number")] = None,
    name: Annotated[str | None, typer.Option(help="reporter's name")] = None,
    phone: Annotated[str | None, typer.Option(help="reporter's phone")] = None,
    anonymous: Annotated[bool, typer.Option(help="report anonymously")] = False,
    policy: Annotated[
        str | None, typer.Option(help="SLA policy (demo-fast: budgets of seconds) [default: WHISTLE_DEFAULT_POLICY]")
    ] = None,
) -> None:
    """Report a case; prints its id and the resident's access token (shown once)."""

    async def command(stack: Stack) -> None:
        case_report = CaseReport(
            compound=compound,
            category=category,
            description=description,
            severity=severity,
            channel=channel,
            external_id=external_id,
            reporter=Reporter(name=name, phone=phone, anonymous=anonymous),
        )
        reported = await cases.report_case(
            stack.client,
            stack.pool,
            case_report,
            task_queue=stack.settings.task_queue,
            policy=policy or stack.settings.default_policy,
        )
        console.print(f"[bold]{reported.case_id}[/bold] {reported.outcome.value}")
        if reported.token:
            console.print(f"access token (shown once): {reported.token}")

    run(command)


@app.command()
def show(case_id: str, as_json: Annotated[bool, typer.Option("--json", help="the full view as JSON")] = False) -> None:
    """A case's state, deadlines, department tasks and full timeline."""

    async def command(stack: Stack) -> None:
        view = await cases.read_case_view(stack.client, stack.pool, case_id)
        if as_json:
            typer.echo(view.model_dump_json(indent=2))
        else:
            print_view(view)

    run(command)


def print_view(view: CaseView) -> None:
    console.print(
        f"[bold]{view.case_id}[/bold]  {view.status}  level {view.level}  owner {view.owner}  "
        f"{view.category}/{view.severity}  deadline {_time(view.deadline)}"
        + ("  [red]OVERDUE[/red]" if view.overdue else "")
        + ("  [yellow]督办[/yellow]" if view.supervision else "")
    )
    console.print(f"{view.compound} · {view.community} · {view.street} · {view.district}   {view.description}")
    if view.stage is not None:
        console.print(counted(view.stage))
    if view.tasks:
        tasks = Table("department", "role", "status", "accept due", "work due", "result", title="department tasks")
        for task in view.tasks:
            tasks.add_row(
                task.department,
                task.role,
                task.status,
                _time(task.accept_due),
                _time(task.work_due),
                task.result or task.closed_reason or "",
            )
        console.print(tasks)
    timeline = Table("#", "at", "level", "event", "actor", "details", title="timeline")
    for event in view.timeline:
        timeline.add_row(
            str(event.seq),
            _time(event.at),
            event.level,
            event.kind,
            event.actor or "",
            json.dumps(event.details, ensure_ascii=False, default=str),
        )
    console.print(timeline)


def _time(moment: datetime | None) -> str:
    return local_time(moment, "%Y-%m-%d %H:%M:%S") if moment else ""


class ActOptions(BaseModel):
    """Every option `whistle case act` takes; each action uses the ones it needs."""

    actor: Actor
    reason: str | None = None
    summary: str | None = None
    text: str | None = None
    until: datetime | None = None
    agree: bool = True
    approve: bool = True
    lead: str | None = None
    assist: list[str] = []
    volunteer: str | None = None
    escalate: bool = False

    def summons(self) -> DepartmentSummons | None:
        return DepartmentSummons(lead=self.lead, assist=self.assist) if self.lead else None


ACTIONS: dict[str, tuple[Any, Callable[[ActOptions], BaseModel]]] = {
    "accept": (CaseWorkflow.accept, lambda o: Accept(actor=o.actor)),
    "arrive": (CaseWorkflow.arrive, lambda o: Arrive(actor=o.actor, note=o.text)),
    "note": (CaseWorkflow.note, lambda o: AddNote(actor=o.actor, text=o.text)),
    "plan": (CaseWorkflow.plan, lambda o: PresentPlan(actor=o.actor, summary=o.summary, due_at=o.until)),
    "resolve": (CaseWorkflow.resolve, lambda o: Resolve(actor=o.actor, summary=o.summary)),
    "signoff": (CaseWorkflow.signoff, lambda o: Signoff(actor=o.actor, agree=o.agree, comment=o.text)),
    "whistle": (CaseWorkflow.whistle, lambda o: Whistle(actor=o.actor, reason=o.reason, departments=o.summons())),
    "request-extension": (
        CaseWorkflow.request_extension,
        lambda o: RequestExtension(actor=o.actor, until=o.until, reason=o.reason),
    ),
    "decide-extension": (
        CaseWorkflow.decide_extension,
        lambda o: DecideExtension(actor=o.actor, approve=o.approve, reason=o.reason),
    ),
    "supervise": (
        CaseWorkflow.supervise,
        lambda o: Supervise(actor=o.actor, action="ESCALATE" if o.escalate else "URGE", reason=o.reason),
    ),
    "reroute": (CaseWorkflow.reroute, lambda o: Reroute(actor=o.actor, departments=o.summons(), reason=o.reason)),
    "conclude": (CaseWorkflow.conclude, lambda o: Conclude(actor=o.actor, reason=o.reason)),
    "dispatch": (CaseWorkflow.dispatch, lambda o: VolunteerDispatch(actor=o.actor, volunteer=o.volunteer)),
    "volunteer-accept": (
        CaseWorkflow.volunteer,
        lambda o: VolunteerAction(volunteer=o.actor.org, action="accept", text=o.text),
    ),
    "volunteer-complete": (
        CaseWorkflow.volunteer,
        lambda o: VolunteerAction(volunteer=o.actor.org, action="complete", text=o.text),
    ),
}


@app.command()
def act(
    case_id: str,
    action: Annotated[str, typer.Argument(help=" | ".join(ACTIONS))],
    as_org: Annotated[str, typer.Option("--as", help="the acting organisation (or volunteer) code")],
    reason: Annotated[str | None, typer.Option(help="whistle, extension, supervise, reroute, conclude")] = None,
    summary: Annotated[str | None, typer.Option(help="resolve, plan")] = None,
    text: Annotated[str | None, typer.Option(help="note text, arrival or sign-off comment")] = None,
    until: Annotated[datetime | None, typer.Option(help="plan due date or extension deadline (ISO, with zone)")] = None,
    agree: Annotated[bool, typer.Option("--agree/--object", help="signoff")] = True,
    approve: Annotated[bool, typer.Option("--approve/--deny", help="decide-extension")] = True,
    lead: Annotated[str | None, typer.Option(help="whistle at STREET / reroute: lead department")] = None,
    assist: Annotated[list[str] | None, typer.Option(help="assisting department (repeatable)")] = None,
    volunteer: Annotated[str | None, typer.Option(help="dispatch: volunteer code")] = None,
    escalate: Annotated[bool, typer.Option(help="supervise: force escalation instead of urging")] = False,
    person: Annotated[str | None, typer.Option(help="who in the organisation acts")] = None,
) -> None:
    """Act on a case as an organisation: the workflow validates and answers with the new state."""
    if action not in ACTIONS:
        typer.secho(f"unknown action {action!r}; one of: {', '.join(ACTIONS)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    update, build = ACTIONS[action]

    async def command(stack: Stack) -> None:
        options = ActOptions(
            actor=Actor(org=as_org, person=person),
            reason=reason,
            summary=summary,
            text=text,
            until=until,
            agree=agree,
            approve=approve,
            lead=lead,
            assist=assist or [],
            volunteer=volunteer,
            escalate=escalate,
        )
        payload = build(options)
        if isinstance(payload, VolunteerDispatch):
            await _require_volunteer_of(stack, case_id, payload.volunteer)
        print_view(await cases.case_handle(stack.client, case_id).execute_update(update, payload))

    run(command)


async def _require_volunteer_of(stack: Stack, case_id: str, volunteer: str) -> None:
    view = await cases.view_case(stack.client, case_id)
    async with stack.pool.acquire() as connection:
        registered = await registry.volunteer(connection, volunteer)
    if registered.community != view.community:
        raise ValueError(f"volunteer {volunteer} is registered in {registered.community}, not {view.community}")


@app.command()
def feedback(
    case_id: str,
    token: Annotated[str, typer.Option(help="the access token given when reporting")],
    satisfied: Annotated[bool, typer.Option("--satisfied/--unsatisfied")],
    score: Annotated[int, typer.Option(help="1-5")],
    comment: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The resident's verdict on a resolved case (回访)."""

    async def command(stack: Stack) -> None:
        payload = Feedback(token=token, satisfied=satisfied, score=score, comment=comment)
        print_view(await cases.case_handle(stack.client, case_id).execute_update(CaseWorkflow.feedback, payload))

    run(command)


@app.command()
def withdraw(
    case_id: str,
    token: Annotated[str, typer.Option(help="the access token given when reporting")],
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The resident withdraws an unresolved case."""

    async def command(stack: Stack) -> None:
        payload = Withdraw(token=token, reason=reason)
        print_view(await cases.case_handle(stack.client, case_id).execute_update(CaseWorkflow.withdraw, payload))

    run(command)


@app.command()
def reset(
    case_id: str,
    reason: Annotated[
        str, typer.Option(help="why, kept in the workflow's history")
    ] = "stuck on a failed workflow task",
) -> None:
    """Recover a case stuck on a failed workflow task (queries answer "Workflow Task in failed state"): reset
    its workflow to just before the task that broke; prints the new run id. Refuses a case that is not stuck."""

    async def command(stack: Stack) -> None:
        run_id = await case_reset.reset_case(stack.client, case_id, reason)
        console.print(f"{case_id} reset (已重置), new run {run_id}")

    run(command)


@app.command("list")
def list_cases(
    status: Annotated[list[Status] | None, typer.Option(help="repeatable")] = None,
    level: Annotated[list[Level] | None, typer.Option(help="repeatable")] = None,
    category: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    street: Annotated[str | None, typer.Option()] = None,
    community: Annotated[str | None, typer.Option()] = None,
    compound: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option(help="organisation owning the case at its level")] = None,
    overdue: Annotated[bool | None, typer.Option("--overdue/--on-time", help="only late or only on-time")] = None,
    sort: Annotated[CaseSort, typer.Option(help="deadline: overdue first, then the soonest")] = CaseSort.DEADLINE,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    after: Annotated[str | None, typer.Option(help="the cursor printed under the previous page")] = None,
) -> None:
    """Cases from the read model, with the supervisors' filters (overdue and most urgent first by default)."""

    async def command(stack: Stack) -> None:
        query = CaseFilter(
            status=status or [],
            level=level or [],
            category=category or [],
            street=street,
            community=community,
            compound=compound,
            owner=owner,
            overdue=overdue,
            sort=sort,
            limit=limit,
            after=after,
        )
        page = await search.search_cases(stack.pool, query)
        table = Table("case", "status", "level", "category", "severity", "owner", "deadline", "compound")
        now = datetime.now(UTC)
        for case in page.items:
            late = case.overdue or (case.deadline is not None and case.deadline < now)
            table.add_row(
                case.case_id,
                case.status,
                case.level,
                case.category,
                case.severity,
                case.owner,
                ("[red]" if late else "") + _time(case.deadline),
                case.compound,
            )
        console.print(table)
        if page.next_cursor is not None:
            console.print(f"next page: --after {page.next_cursor}")

    run(command)
