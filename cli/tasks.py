"""`whistle task …` (department inbox and actions) and `whistle volunteers …` (三单制 registry)."""

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.markup import escape
from rich.table import Table

from activities import registry
from cli.cases import run
from cli.output import at, console, due, fail, labelled, zoned
from cli.stack import Stack
from cli.typed import typed_time
from client.names import name_book
from i18n.language import _
from i18n.names import name
from schemas.case import Actor, DecideExtension
from schemas.task import (
    TaskAccept,
    TaskActor,
    TaskComplete,
    TaskExtension,
    TaskNote,
    TaskReturn,
    TaskRole,
    TaskStatus,
    TaskView,
)
from workflows.department_task import DepartmentTaskWorkflow

tasks_app = typer.Typer(help=_("Department task inbox and actions (部门报到)."), no_args_is_help=True)
volunteers_app = typer.Typer(help=_("Community volunteers (三单制) and their points."), no_args_is_help=True)


@tasks_app.command("list", help=_("A department's tasks: open ones first, overdue first, then by deadline."))
def list_tasks(
    department: Annotated[str, typer.Option(help=_("department code, e.g. PSB"))],
    all_tasks: Annotated[bool, typer.Option("--all", help=_("include closed tasks"))] = False,
) -> None:
    async def command(stack: Stack) -> None:
        rows = await stack.pool.fetch(
            """SELECT task_id, case_id, role, status, accept_due, work_due, overdue, supervision
                 FROM department_tasks
                WHERE department = $1 AND ($2 OR status IN ('SUMMONED', 'ACCEPTED'))
                ORDER BY status NOT IN ('SUMMONED', 'ACCEPTED'), overdue DESC,
                         COALESCE(work_due, accept_due), task_id""",
            department,
            all_tasks,
        )
        names = await name_book(stack.pool)
        table = Table(
            _("task"),
            _("case"),
            _("role"),
            _("status"),
            zoned(_("due")),
            _("flags"),
            title=_("tasks of %(department)s") % {"department": labelled(names, department)},
        )
        now = datetime.now(UTC)
        for row in rows:
            status = TaskStatus(row["status"])
            deadline = row["work_due"] if status is TaskStatus.ACCEPTED else row["accept_due"]
            flags = [
                flag
                for flag, on in ((_("overdue"), row["overdue"]), (_("under supervision (督办)"), row["supervision"]))
                if on
            ]
            table.add_row(
                row["task_id"],
                row["case_id"],
                name(TaskRole(row["role"])),
                name(status),
                due(deadline, now) if status in (TaskStatus.SUMMONED, TaskStatus.ACCEPTED) else at(deadline),
                " ".join(flags),
            )
        console.print(table)

    run(command)


class TaskOptions(BaseModel):
    actor: TaskActor
    text: str | None = None
    reason: str | None = None
    until: datetime | None = None
    evidence: list[str] = []
    approve: bool = True


TASK_ACTIONS: dict[str, tuple[Any, Any]] = {
    "accept": (DepartmentTaskWorkflow.accept, lambda o: TaskAccept(actor=o.actor)),
    "note": (DepartmentTaskWorkflow.note, lambda o: TaskNote(actor=o.actor, text=o.text)),
    "complete": (
        DepartmentTaskWorkflow.complete,
        lambda o: TaskComplete(actor=o.actor, result=o.text, evidence_urls=o.evidence),
    ),
    "return": (DepartmentTaskWorkflow.return_task, lambda o: TaskReturn(actor=o.actor, reason=o.reason)),
    "request-extension": (
        DepartmentTaskWorkflow.request_extension,
        lambda o: TaskExtension(actor=o.actor, until=o.until, reason=o.reason),
    ),
    "decide-extension": (
        DepartmentTaskWorkflow.decide_extension,
        lambda o: DecideExtension(actor=Actor(org=o.actor.department), approve=o.approve, reason=o.reason),
    ),
}


@tasks_app.command(
    "act", help=_("Act on a department task; the task workflow validates and answers with the task's state.")
)
def act_on_task(
    task_id: Annotated[str, typer.Argument(help=_("case-<case id>-dept-<code>"))],
    action: Annotated[str, typer.Argument(help=" | ".join(TASK_ACTIONS))],
    as_org: Annotated[
        str, typer.Option("--as", help=_("the department code (the district centre decides extensions)"))
    ],
    text: Annotated[str | None, typer.Option(help=_("note text or completion result"))] = None,
    reason: Annotated[str | None, typer.Option(help=_("return or extension reason"))] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            parser=typed_time,
            metavar=_("TIME"),
            help=_("requested deadline: 2026-12-01 18:00 is local time, or give a zone"),
        ),
    ] = None,
    evidence: Annotated[list[str] | None, typer.Option(help=_("evidence URL (repeatable)"))] = None,
    approve: Annotated[bool, typer.Option("--approve/--deny")] = True,
    person: Annotated[str | None, typer.Option()] = None,
) -> None:
    if action not in TASK_ACTIONS:
        unknown = _("unknown action %(action)s; one of: %(actions)s")
        raise fail(unknown % {"action": repr(action), "actions": ", ".join(TASK_ACTIONS)}, code=2)
    update, build = TASK_ACTIONS[action]

    async def command(stack: Stack) -> None:
        options = TaskOptions(
            actor=TaskActor(department=as_org, person=person),
            text=text,
            reason=reason,
            until=until,
            evidence=evidence or [],
            approve=approve,
        )
        task: TaskView = await stack.client.get_workflow_handle(task_id).execute_update(
            update, build(options), result_type=TaskView
        )
        names = await name_book(stack.pool)
        told = {"task": task.task_id, "department": names(task.department), "status": name(task.status)}
        line = _("%(task)s (%(department)s): %(status)s") % told
        console.print(
            escape(_("%(text)s: %(extra)s") % {"text": line, "extra": task.result} if task.result else line)
        )

    run(command)


@volunteers_app.command("list", help=_("A community's registered volunteers and their points, most points first."))
def list_volunteers(community: Annotated[str, typer.Option(help=_("community code, e.g. HP-DF-QH"))]) -> None:
    async def command(stack: Stack) -> None:
        async with stack.pool.acquire() as connection:
            members = await registry.volunteers(connection, community)
        names = await name_book(stack.pool)
        title = _("volunteers of %(community)s") % {"community": labelled(names, community)}
        table = Table(_("volunteer"), _("name"), _("employer"), _("points"), title=title)
        for member in members:
            table.add_row(member.code, names(member.code), member.employer or "", str(member.points))
        console.print(table)

    run(command)
