"""Departments (成员单位) summoned to a case at DISTRICT: their task inbox and their task actions.

The department is the key's organisation; it only ever reaches its own task, workflow
`case-<case_id>-dept-<its code>`.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from activities import search
from api import calls
from api.actions import CasePath, task_action
from api.auth import Department, acting
from api.bodies import body_of, command_from
from api.dependencies import DbPool, TemporalClient
from api.errors import responses
from schemas.actions import TASK_RIGHTS, ActionKind
from schemas.case import CaseView, Resume
from schemas.search import TaskFilter, TaskSummary
from schemas.task import TaskAccept, TaskComplete, TaskExtension, TaskNote, TaskPause, TaskReturn, TaskView
from workflows.department_task import DepartmentTaskWorkflow

router = APIRouter(prefix="/v1/department", tags=["departments"])

ResumeBody = body_of(Resume, supplied="actor")


class DepartmentTask(BaseModel):
    task: TaskView
    case: CaseView


@router.get(
    "/tasks",
    response_model=list[TaskSummary],
    responses=responses(401, 403, 503),
    summary="My department's tasks (open ones unless `status` says otherwise), overdue first, then by due time",
)
async def inbox(caller: Department, pool: DbPool, query: Annotated[TaskFilter, Query()]) -> list[TaskSummary]:
    return await search.department_tasks(pool, caller.org, query)


@router.get(
    "/tasks/{case_id}",
    response_model=DepartmentTask,
    responses=responses(401, 403, 404, 503),
    summary="My task on a case, with the case it belongs to",
)
async def task(case_id: CasePath, caller: Department, client: TemporalClient, pool: DbPool) -> DepartmentTask:
    view = await calls.task_view(client, pool, case_id, caller.org, mine=True)
    return DepartmentTask(task=view, case=await calls.case_view(client, pool, case_id))


task_action(
    router,
    "accept",
    DepartmentTaskWorkflow.accept,
    TaskAccept,
    acting(ActionKind.ACCEPT, TASK_RIGHTS),
    "Report for duty (报到) on the task",
)
task_action(
    router,
    "notes",
    DepartmentTaskWorkflow.note,
    TaskNote,
    acting(ActionKind.NOTE, TASK_RIGHTS),
    "Add a progress note to the task",
)
task_action(
    router,
    "complete",
    DepartmentTaskWorkflow.complete,
    TaskComplete,
    acting(ActionKind.COMPLETE, TASK_RIGHTS),
    "Complete with the result",
)
task_action(
    router,
    "return",
    DepartmentTaskWorkflow.return_task,
    TaskReturn,
    acting(ActionKind.RETURN, TASK_RIGHTS),
    "Return the task (退单)",
)
task_action(
    router,
    "extension-request",
    DepartmentTaskWorkflow.request_extension,
    TaskExtension,
    acting(ActionKind.REQUEST_EXTENSION, TASK_RIGHTS),
    "Ask the district centre for a later work deadline",
)
task_action(
    router,
    "pause-request",
    DepartmentTaskWorkflow.request_pause,
    TaskPause,
    acting(ActionKind.REQUEST_PAUSE, TASK_RIGHTS),
    "Ask the district centre to pause (挂起) the task's clock: a reason from the list, an optional until-date",
)


@router.post(
    "/tasks/{case_id}/resume",
    response_model=TaskView,
    responses=responses(401, 403, 404, 409, 503),
    summary="End my task's pause: its clock runs again",
)
async def resume(case_id: CasePath, body: ResumeBody, caller: Department, client: TemporalClient) -> TaskView:
    cmd = command_from(Resume, body, actor=caller.actor(body.person))
    return await calls.task_update(client, case_id, caller.org, DepartmentTaskWorkflow.resume, cmd, mine=True)
