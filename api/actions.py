"""Routes that turn one POST into one workflow update, built from a table instead of written out one by one.

Each route takes the command's body (without `actor`), fills the actor in from the caller's key, runs the
update and answers with the case (or task) after it.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from api import calls, links
from api.auth import check_view
from api.bodies import IdempotencyHeader, body_of, command_from, request_id
from api.dependencies import DbPool, TemporalClient
from api.errors import responses
from schemas.case import CaseId, CaseView
from schemas.domain import Code
from schemas.task import TaskView

CasePath = Annotated[CaseId, Path(description="case id, e.g. WH-20261122-000001")]
DepartmentPath = Annotated[Code, Path(description="department code, e.g. XF")]

_ERRORS = responses(401, 403, 404, 409, 503)


def case_action(router: APIRouter, path: str, update: Any, command: type, caller: Any, summary: str) -> None:
    """POST `/cases/{case_id}/<path>`: run `update` with `command` acted by the caller's organisation. The
    router's view of the case (GET `/cases/{case_id}`, declared before) links to it."""
    body_type = body_of(command, supplied="actor")
    view = f"{router.prefix}/cases/{{case_id}}"

    async def taking_part(case_id: CasePath, principal: caller, client: TemporalClient, pool: DbPool) -> None:
        # Before the body is read and before the workflow's validators speak of the case's state: an
        # organisation neither taking part nor over the case's area learns nothing of it.
        check_view(principal, await calls.case_view(client, pool, case_id))

    async def act(
        case_id: CasePath,
        body: body_type,
        principal: caller,
        client: TemporalClient,
        idempotency_key: IdempotencyHeader = None,
    ) -> CaseView:
        cmd = command_from(command, body, actor=principal.actor(body.person))
        once = request_id(principal.org, path, idempotency_key)
        return await calls.case_update(client, case_id, update, cmd, request_id=once)

    router.add_api_route(
        f"/cases/{{case_id}}/{path}",
        act,
        methods=["POST"],
        response_model=CaseView,
        responses=_ERRORS,
        summary=summary,
        dependencies=[Depends(taking_part)],
        name=f"{router.tags[0]}_{path.replace('/', '_').replace('{', '').replace('}', '')}",
    )
    links.from_view(router, view, router.routes[-1])


def task_action(router: APIRouter, path: str, update: Any, command: type, caller: Any, summary: str) -> None:
    """POST `/tasks/{case_id}/<path>`: run `update` on the calling department's task of the case. The
    router's view of the task (GET `/tasks/{case_id}`, declared before) links to it."""
    body_type = body_of(command, supplied="actor")
    view = f"{router.prefix}/tasks/{{case_id}}"

    async def act(
        case_id: CasePath,
        body: body_type,
        principal: caller,
        client: TemporalClient,
        idempotency_key: IdempotencyHeader = None,
    ) -> TaskView:
        cmd = command_from(command, body, actor=principal.task_actor(body.person))
        once = request_id(principal.org, f"task/{path}", idempotency_key)
        return await calls.task_update(client, case_id, principal.org, update, cmd, request_id=once, mine=True)

    router.add_api_route(
        f"/tasks/{{case_id}}/{path}",
        act,
        methods=["POST"],
        response_model=TaskView,
        responses=_ERRORS,
        summary=summary,
        name=f"{router.tags[0]}_task_{path}",
    )
    links.from_view(router, view, router.routes[-1], value=links.TASK_CASE_ID)
