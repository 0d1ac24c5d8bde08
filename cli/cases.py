"""`whistle case …`: report, show, act on and list cases by hand against a running system."""

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape
from rich.table import Table
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities import registry, search
from cli.output import SECOND, at, console, due, fail, labelled, zoned
from cli.stack import Stack, connected
from cli.typed import typed_time
from client import case_reset, cases, logs
from client.names import name_book
from client.startup import StartupError
from i18n.deadlines import counted
from i18n.language import N_, _
from i18n.names import NameBook, name
from i18n.timeline import narrate
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
from schemas.task import TaskStatus
from workflows.case import CaseWorkflow

app = typer.Typer(help=_("Report, inspect and act on cases."), no_args_is_help=True)


def run(command: Callable[[Stack], Coroutine[Any, Any, None]]) -> None:
    """Connect to the running system, run the command; every expected failure is one line and exit 1.
    Refusals of the workflow and of the registry are printed as they are given."""
    logs.configure("console", level=30)

    async def main() -> None:
        async with connected() as stack:
            await command(stack)

    try:
        asyncio.run(main())
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or _("input")
            typer.secho(
                _("invalid %(where)s: %(problem)s") % {"where": where, "problem": problem["msg"]},
                fg=typer.colors.RED,
                err=True,
            )
        raise typer.Exit(2) from None
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        kind = getattr(cause, "type", None) or "Rejected"
        message = getattr(cause, "message", cause)
        raise fail(_("rejected (%(kind)s): %(message)s") % {"kind": kind, "message": message}) from None
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND and "already completed" in error.message:
            raise fail(_("rejected (Closed): the case is closed and takes no more actions")) from None
        raise fail(f"whistle: {error}") from None
    except (StartupError, registry.UnknownReference, ValueError, WorkflowQueryFailedError) as error:
        raise fail(f"whistle: {error}") from None


OUTCOMES = {
    cases.IntakeOutcome.CREATED: N_("case opened"),
    cases.IntakeOutcome.EXISTING: N_("reported before: this is that case"),
    cases.IntakeOutcome.LINKED: N_("the same issue is open in the compound: the reporter follows that case"),
}


@app.command(help=_("Report a case; prints its id and the resident's access token (shown once)."))
def report(
    compound: Annotated[str, typer.Option(help=_("compound code, e.g. HP-DF-QH-1"))],
    category: Annotated[str, typer.Option(help=_("category code, e.g. SEWER_BLOCKAGE"))],
    description: Annotated[str, typer.Option(help=_("what is wrong"))],
    severity: Annotated[Severity | None, typer.Option(help=_("default: the category's"))] = None,
    channel: Annotated[Channel, typer.Option()] = Channel.APP,
    external_id: Annotated[str | None, typer.Option(help=_("12345 ticket number"))] = None,
    name: Annotated[str | None, typer.Option(help=_("reporter's name"))] = None,
    phone: Annotated[str | None, typer.Option(help=_("reporter's phone"))] = None,
    anonymous: Annotated[bool, typer.Option(help=_("report anonymously"))] = False,
    policy: Annotated[
        str | None,
        typer.Option(help=_("SLA policy (demo-fast: budgets of seconds) [default: WHISTLE_DEFAULT_POLICY]")),
    ] = None,
) -> None:
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
        console.print(f"[bold]{reported.case_id}[/bold] {_(OUTCOMES[reported.outcome])}")
        if reported.token:  # the token last on its line, after a space: scripts take the line's last word
            console.print(_("access token (shown once):"), reported.token)

    run(command)


@app.command(help=_("A case's state, deadlines, department tasks and full timeline."))
def show(
    case_id: str,
    as_json: Annotated[bool, typer.Option("--json", help=_("the full view as JSON (codes, UTC times)"))] = False,
) -> None:
    async def command(stack: Stack) -> None:
        view = await cases.read_case_view(stack.client, stack.pool, case_id)
        if as_json:
            typer.echo(view.model_dump_json(indent=2))
        else:
            print_view(view, await name_book(stack.pool))

    run(command)


def print_view(view: CaseView, names: NameBook) -> None:
    now = datetime.now(UTC)
    head = _("%(status)s  level: %(level)s  owner: %(owner)s  %(category)s, %(severity)s") % {
        "status": name(view.status),
        "level": name(view.level),
        "owner": labelled(names, view.owner),
        "category": names(view.category),
        "severity": name(view.severity),
    }
    console.print(f"[bold]{view.case_id}[/bold]  {escape(head)}")
    if view.deadline is not None:
        deadline = _("deadline: %(deadline)s") % {"deadline": due(view.deadline, now, SECOND, label=True)}
        flags = [f"[red]{escape(_('overdue'))}[/red]"] if view.overdue else []
        flags += [f"[yellow]{escape(_('under supervision (督办)'))}[/yellow]"] if view.supervision else []
        console.print("  ".join([escape(deadline), *flags]))
    if view.close_reason is not None:
        console.print(escape(_("closed: %(reason)s") % {"reason": name(view.close_reason)}))
    place = " · ".join(names.place(code) for code in (view.compound, view.community, view.street, view.district))
    console.print(escape(f"{place}   {view.description}"))
    if view.stage is not None:
        console.print(escape(counted(view.stage)))
    if view.tasks:
        tasks = Table(
            _("department"),
            _("code"),
            _("role"),
            _("status"),
            zoned(_("report for duty by")),
            zoned(_("complete by")),
            _("result"),
            title=_("department tasks"),
        )
        for task in view.tasks:
            summoned, accepted = task.status is TaskStatus.SUMMONED, task.status is TaskStatus.ACCEPTED
            tasks.add_row(
                names(task.department),
                task.department,
                name(task.role),
                name(task.status),
                due(task.accept_due, now) if summoned else at(task.accept_due),
                due(task.work_due, now) if accepted else at(task.work_due),
                escape(task.result or task.closed_reason or ""),
            )
        console.print(tasks)
    timeline = Table("#", zoned(_("time")), _("level"), _("what happened"), title=_("timeline"))
    for line in narrate(view.timeline, names):
        seqs = ", ".join(map(str, line.seqs))
        timeline.add_row(seqs, at(line.at, SECOND), name(line.level), escape(line.sentence))
    console.print(timeline)


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


@app.command(help=_("Act on a case as an organisation: the workflow validates and answers with the new state."))
def act(
    case_id: str,
    action: Annotated[str, typer.Argument(help=" | ".join(ACTIONS))],
    as_org: Annotated[str, typer.Option("--as", help=_("the acting organisation (or volunteer) code"))],
    reason: Annotated[str | None, typer.Option(help=_("whistle, extension, supervise, reroute, conclude"))] = None,
    summary: Annotated[str | None, typer.Option(help=_("resolve, plan"))] = None,
    text: Annotated[str | None, typer.Option(help=_("note text, arrival or sign-off comment"))] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            parser=typed_time,
            metavar=_("TIME"),
            help=_("plan due date or extension deadline: 2026-12-01 18:00 is local time, or give a zone"),
        ),
    ] = None,
    agree: Annotated[bool, typer.Option("--agree/--object", help=_("signoff"))] = True,
    approve: Annotated[bool, typer.Option("--approve/--deny", help=_("decide-extension"))] = True,
    lead: Annotated[str | None, typer.Option(help=_("whistle at STREET / reroute: lead department"))] = None,
    assist: Annotated[list[str] | None, typer.Option(help=_("assisting department (repeatable)"))] = None,
    volunteer: Annotated[str | None, typer.Option(help=_("dispatch: volunteer code"))] = None,
    escalate: Annotated[bool, typer.Option(help=_("supervise: force escalation instead of urging"))] = False,
    person: Annotated[str | None, typer.Option(help=_("who in the organisation acts"))] = None,
) -> None:
    if action not in ACTIONS:
        unknown = _("unknown action %(action)s; one of: %(actions)s")
        raise fail(unknown % {"action": repr(action), "actions": ", ".join(ACTIONS)}, code=2)
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
        names = await name_book(stack.pool)
        if isinstance(payload, VolunteerDispatch):
            await _require_volunteer_of(stack, case_id, payload.volunteer, names)
        print_view(await cases.case_handle(stack.client, case_id).execute_update(update, payload), names)

    run(command)


async def _require_volunteer_of(stack: Stack, case_id: str, volunteer: str, names: NameBook) -> None:
    view = await cases.view_case(stack.client, case_id)
    async with stack.pool.acquire() as connection:
        registered = await registry.volunteer(connection, volunteer)
    if registered.community != view.community:
        raise ValueError(
            _("volunteer %(volunteer)s is registered in %(registered)s, not in %(community)s")
            % {
                "volunteer": labelled(names, volunteer),
                "registered": labelled(names, registered.community),
                "community": labelled(names, view.community),
            }
        )


Token = Annotated[str, typer.Option(help=_("the access token given when reporting"))]


@app.command(help=_("The resident's verdict on a resolved case (回访)."))
def feedback(
    case_id: str,
    token: Token,
    satisfied: Annotated[bool, typer.Option("--satisfied/--unsatisfied")],
    score: Annotated[int, typer.Option(help=_("1-5"))],
    comment: Annotated[str | None, typer.Option()] = None,
) -> None:
    _resident_acts(
        case_id,
        CaseWorkflow.feedback,
        lambda: Feedback(token=token, satisfied=satisfied, score=score, comment=comment),
    )


@app.command(help=_("The resident withdraws an unresolved case."))
def withdraw(case_id: str, token: Token, reason: Annotated[str | None, typer.Option()] = None) -> None:
    _resident_acts(case_id, CaseWorkflow.withdraw, lambda: Withdraw(token=token, reason=reason))


def _resident_acts(case_id: str, update: Any, payload: Callable[[], BaseModel]) -> None:
    """The resident's own action (with their access token); prints the case as it then stands."""

    async def command(stack: Stack) -> None:
        view = await cases.case_handle(stack.client, case_id).execute_update(update, payload())
        print_view(view, await name_book(stack.pool))

    run(command)


@app.command(
    help=_(
        'Recover a case stuck on a failed workflow task (queries answer "Workflow Task in failed state"): reset '
        "its workflow to just before the task that broke; prints the new run id. Refuses a case that is not stuck."
    )
)
def reset(
    case_id: str,
    reason: Annotated[str, typer.Option(help=_("why, kept in the workflow's history"))] = (
        "stuck on a failed workflow task"
    ),
) -> None:
    async def command(stack: Stack) -> None:
        run_id = await case_reset.reset_case(stack.client, case_id, reason)
        console.print(_("%(case)s reset, new run %(run)s") % {"case": case_id, "run": run_id})

    run(command)


@app.command(
    "list",
    help=_("Cases from the read model, with the supervisors' filters (overdue and most urgent first by default)."),
)
def list_cases(
    status: Annotated[list[Status] | None, typer.Option(help=_("repeatable"))] = None,
    level: Annotated[list[Level] | None, typer.Option(help=_("repeatable"))] = None,
    category: Annotated[list[str] | None, typer.Option(help=_("repeatable"))] = None,
    street: Annotated[str | None, typer.Option()] = None,
    community: Annotated[str | None, typer.Option()] = None,
    compound: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option(help=_("organisation owning the case at its level"))] = None,
    overdue: Annotated[bool | None, typer.Option("--overdue/--on-time", help=_("only late or only on-time"))] = None,
    sort: Annotated[CaseSort, typer.Option(help=_("deadline: overdue first, then the soonest"))] = CaseSort.DEADLINE,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    after: Annotated[str | None, typer.Option(help=_("the cursor printed under the previous page"))] = None,
) -> None:
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
        names = await name_book(stack.pool)
        table = Table(
            _("case"),
            _("status"),
            _("level"),
            _("category"),
            _("severity"),
            _("owner"),
            zoned(_("deadline")),
            _("compound"),
            title=_("cases"),
        )
        now = datetime.now(UTC)
        for case in page.items:
            late = case.overdue or (case.deadline is not None and case.deadline < now)
            table.add_row(
                case.case_id,
                name(case.status),
                name(case.level),
                names(case.category),
                name(case.severity),
                labelled(names, case.owner),
                ("[red]" if late else "") + escape(due(case.deadline, now)),
                names(case.compound),
            )
        console.print(table)
        if page.next_cursor is not None:
            console.print(_("next page: --after %(cursor)s") % {"cursor": page.next_cursor})

    run(command)
