"""`whistle task …` (department inbox and actions) and `whistle volunteers …` (三单制 registry)."""

from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.table import Table

from activities import registry
from cli.cases import _time, console, run
from cli.stack import Stack
from schemas.case import Actor, DecideExtension
from schemas.task import TaskAccept, TaskActor, TaskComplete, TaskExtension, TaskNote, TaskReturn, TaskView
from workflows.department_task import DepartmentTaskWorkflow

tasks_app = typer.Typer(help="Department task inbox and actions (部门报到).", no_args_is_help=True)
volunteers_app = typer.Typer(help="Community volunteers (三单制) and their points.", no_args_is_help=True)


@tasks_app.command("list")
def list_tasks(
    department: Annotated[str, typer.Option(help="department code, e.g. PSB")],
    all_tasks: Annotated[bool, typer.Option("--all", help="include closed tasks")] = False,
) -> None:
    """A department's tasks: open ones first, overdue first, then by deadline."""

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
        table = Table("task", "case", "role", "status", "due", "flags", title=f"tasks of {department}")
        for row in rows:
            due = row["work_due"] if row["status"] == "ACCEPTED" else row["accept_due"]
            flags = " ".join(flag for flag, on in (("OVERDUE", row["overdue"]), ("督办", row["supervision"])) if on)
            table.add_row(row["task_id"], row["case_id"], row["role"], row["status"], _time(due), flags)
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


@tasks_app.command("act")
def act_on_task(
    task_id: Annotated[str, typer.Argument(help="case-<case id>-dept-<code>")],
    action: Annotated[str, typer.Argument(help=" | ".join(TASK_ACTIONS))],
    as_org: Annotated[str, typer.Option("--as", help="the department code (the district centre decides extensions)")],
    text: Annotated[str | None, typer.Option(help="note text or completion result")] = None,
    reason: Annotated[str | None, typer.Option(help="return or extension reason")] = None,
    until: Annotated[datetime | None, typer.Option(help="requested deadline (ISO, with zone)")] = None,
    evidence: Annotated[list[str] | None, typer.Option(help="evidence URL (repeatable)")] = None,
    approve: Annotated[bool, typer.Option("--approve/--deny")] = True,
    person: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Act on a department task; the task workflow validates and answers with the task's state."""
    if action not in TASK_ACTIONS:
        typer.secho(f"unknown action {action!r}; one of: {', '.join(TASK_ACTIONS)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
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
        console.print(f"{task.task_id}: {task.status}" + (f" — {task.result}" if task.result else ""))

    run(command)


@volunteers_app.command("list")
def list_volunteers(community: Annotated[str, typer.Option(help="community code, e.g. HP-DF-QH")]) -> None:
    """A community's registered volunteers and their points, most points first."""

    async def command(stack: Stack) -> None:
        async with stack.pool.acquire() as connection:
            members = await registry.volunteers(connection, community)
        table = Table("volunteer", "name", "employer", "points", title=f"volunteers of {community}")
        for member in members:
            table.add_row(member.code, member.name, member.employer or "", str(member.points))
        console.print(table)

    run(command)
