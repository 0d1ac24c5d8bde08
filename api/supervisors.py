"""Supervisors (the district command centre): every case of their district, supervision (督办), extensions."""

from typing import Annotated

from fastapi import APIRouter, Query

from activities import search
from api import calls
from api.actions import CasePath, DepartmentPath, case_action
from api.auth import Supervisor, check_view
from api.bodies import body_of, command_from
from api.dependencies import DbPool, TemporalClient
from api.errors import responses
from schemas.case import CaseView, DecideExtension, DecidePause, Resume, Supervise
from schemas.search import CaseFilter, CasePage
from schemas.task import TaskView
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

router = APIRouter(prefix="/v1/supervisor", tags=["supervisors"])

DecideExtensionBody = body_of(DecideExtension, supplied="actor")
DecidePauseBody = body_of(DecidePause, supplied="actor")
ResumeBody = body_of(Resume, supplied="actor")


@router.get(
    "/cases",
    response_model=CasePage,
    responses=responses(401, 403, 503),
    summary="Cases of my district, filtered and sorted, one keyset page at a time",
)
async def cases(caller: Supervisor, pool: DbPool, query: Annotated[CaseFilter, Query()]) -> CasePage:
    return await search.search_cases(pool, query, district=caller.jurisdiction)


@router.get(
    "/cases/{case_id}",
    response_model=CaseView,
    responses=responses(401, 403, 404, 503),
    summary="One case's full view: stages, deadlines, breaches, council votes, tasks, timeline",
)
async def case(case_id: CasePath, caller: Supervisor, client: TemporalClient, pool: DbPool) -> CaseView:
    view = await calls.case_view(client, pool, case_id)
    check_view(caller, view)
    return view


case_action(router, "supervise", CaseWorkflow.supervise, Supervise, Supervisor, "Supervise (督办): urge or escalate")
case_action(
    router,
    "extension-decision",
    CaseWorkflow.decide_extension,
    DecideExtension,
    Supervisor,
    "Approve or deny a case's pending extension request",
)


case_action(
    router,
    "pause-decision",
    CaseWorkflow.decide_pause,
    DecidePause,
    Supervisor,
    "Approve or deny a case's pending pause (挂起), also one past the policy's limit of paused time",
)
case_action(router, "resume", CaseWorkflow.resume, Resume, Supervisor, "End a case's pause")


@router.post(
    "/cases/{case_id}/tasks/{department}/pause-decision",
    response_model=TaskView,
    responses=responses(401, 403, 404, 409, 503),
    summary="Approve or deny a department's pending task pause (挂起)",
)
async def task_pause_decision(
    case_id: CasePath, department: DepartmentPath, body: DecidePauseBody, caller: Supervisor, client: TemporalClient
) -> TaskView:
    cmd = command_from(DecidePause, body, actor=caller.actor(body.person))
    return await calls.task_update(client, case_id, department, DepartmentTaskWorkflow.decide_pause, cmd)


@router.post(
    "/cases/{case_id}/tasks/{department}/resume",
    response_model=TaskView,
    responses=responses(401, 403, 404, 409, 503),
    summary="End a department task's pause",
)
async def task_resume(
    case_id: CasePath, department: DepartmentPath, body: ResumeBody, caller: Supervisor, client: TemporalClient
) -> TaskView:
    cmd = command_from(Resume, body, actor=caller.actor(body.person))
    return await calls.task_update(client, case_id, department, DepartmentTaskWorkflow.resume, cmd)


@router.post(
    "/cases/{case_id}/tasks/{department}/extension-decision",
    response_model=TaskView,
    responses=responses(401, 403, 404, 409, 503),
    summary="Approve or deny a department's pending task extension request",
)
async def task_extension_decision(
    case_id: CasePath,
    department: DepartmentPath,
    body: DecideExtensionBody,
    caller: Supervisor,
    client: TemporalClient,
) -> TaskView:
    cmd = command_from(DecideExtension, body, actor=caller.actor(body.person))
    return await calls.task_update(client, case_id, department, DepartmentTaskWorkflow.decide_extension, cmd)
