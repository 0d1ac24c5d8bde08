"""Temporal calls the API makes on cases and department tasks, with their failures turned into `ApiError`s.

An update's validator rejection becomes 403/409/422 with the validator's words (its template and parameters,
said in the request's language); an unknown workflow 404;
a finished case workflow 409; an unreachable server or a worker that does not answer in time 503
(`api.errors.dependency_failure`, as for every dependency). A case or task that is still opening (its first
activity running) is retried for a few seconds. Reads of a case or task whose workflow Temporal no longer has
(its retention deletes closed ones) come from the read model.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import asyncpg
from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, FieldError, dependency_failure
from client.cases import answers_later, case_handle, read_case_view, read_resident_role, read_task_view, task_handle
from schemas.actions import ActionKind
from schemas.case import CaseView, Rejection, ResidentRole
from schemas.messages import N_, Message
from schemas.task import TaskView

T = TypeVar("T")

RPC_TIMEOUT = timedelta(seconds=10)
_OPENING_WAIT = 5.0  # seconds a just-reported case or just-summoned task may take to open
_OPENING_POLL = 0.05

_REJECTION_STATUS = {
    Rejection.FORBIDDEN: 403,
    Rejection.INVALID_STATE: 409,
    Rejection.CLOSED: 409,
    Rejection.NOT_READY: 409,
}
_REJECTION_CODE = {
    Rejection.FORBIDDEN: "forbidden",
    Rejection.INVALID_STATE: "invalid_transition",
    Rejection.CLOSED: "case_closed",
    Rejection.NOT_READY: "not_ready",
}


def _refusal(cause: ApplicationError) -> Message:
    """The validator's words: its template and parameters (details), or its English text from a worker that
    sends none (translated if the catalogue knows it)."""
    if cause.details:
        try:
            return Message.model_validate(cause.details[0])
        except ValidationError:
            pass
    return Message(template=cause.message)


async def _call(call: Callable[[], Awaitable[T]], *, what: Message, missing: Message, missing_status: int = 404) -> T:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + _OPENING_WAIT
    while True:
        try:
            return await call()
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if not isinstance(cause, ApplicationError):
                raise _about(409, N_("%(what)s: the action failed: %(reason)s"), what, cause) from error
            if cause.type == Rejection.NOT_READY and loop.time() < give_up:
                await asyncio.sleep(_OPENING_POLL)
                continue
            refusal = _refusal(cause)
            if cause.type == Rejection.INVALID_INPUT:
                raise FieldError(("body",), refusal.template, "invalid_input", params=refusal.params) from error
            raise ApiError(
                _REJECTION_STATUS.get(cause.type, 409),
                refusal.template,
                params=refusal.params,
                code=_REJECTION_CODE.get(cause.type),
            ) from error
        except WorkflowQueryFailedError as error:
            if answers_later(error) and loop.time() < give_up:
                await asyncio.sleep(_OPENING_POLL)
                continue
            raise _about(409, N_("%(what)s cannot be read now: %(reason)s"), what, error) from error
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                if "already completed" in error.message:
                    raise _about(
                        409, N_("%(what)s: it is closed and takes no more actions"), what, code="case_closed"
                    ) from error
                raise ApiError(missing_status, missing.template, params=missing.params) from error
            if error.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
                raise _about(409, N_("%(what)s: %(reason)s"), what, error.message) from error
            raise dependency_failure(error) from error
        except (WorkflowUpdateRPCTimeoutOrCancelledError, RuntimeError) as error:
            failure = dependency_failure(error)
            if failure is None:
                raise
            raise failure from error


def _about(status: int, template: str, what: Message, reason: object = None, *, code: str | None = None) -> ApiError:
    """An error about a case or a task (`what`, a message itself): "case WH-… cannot be read now: …"."""
    return ApiError(status, template, params={"what": what, "reason": reason}, code=code)


def _case(case_id: str) -> Message:
    return Message(template=N_("case %(case)s"), params={"case": case_id})


def _unknown_case(case_id: str) -> Message:
    return Message(template=N_("unknown case %(case)s"), params={"case": case_id})


async def case_view(client: Client, pool: asyncpg.Pool, case_id: str) -> CaseView:
    """The case from its workflow, or from the read model once Temporal's retention has deleted it."""
    return await _call(
        lambda: read_case_view(client, pool, case_id, rpc_timeout=RPC_TIMEOUT),
        what=_case(case_id),
        missing=_unknown_case(case_id),
    )


async def resident_role(client: Client, pool: asyncpg.Pool, case_id: str, token: str) -> ResidentRole | None:
    return await _call(
        lambda: read_resident_role(client, pool, case_id, token, rpc_timeout=RPC_TIMEOUT),
        what=_case(case_id),
        missing=_unknown_case(case_id),
    )


async def case_update(
    client: Client, case_id: str, update, command: BaseModel, *, request_id: str | None = None
) -> CaseView:
    """Run one of `CaseWorkflow`'s updates; the answer is the case after it. Updates under one `request_id`
    are applied once: a repeat answers with the first one's outcome."""
    handle = case_handle(client, case_id)
    return await _call(
        lambda: handle.execute_update(update, command, id=request_id, rpc_timeout=RPC_TIMEOUT),
        what=_case(case_id),
        missing=_unknown_case(case_id),
    )


def _task(case_id: str, department: str) -> Message:
    return Message(template=N_("the task of %(org)s on case %(case)s"), params={"org": department, "case": case_id})


def _unknown_task(case_id: str, department: str) -> Message:
    return Message(template=N_("%(org)s has no task on case %(case)s"), params={"org": department, "case": case_id})


def _no_task(mine: bool) -> int:
    """A department asking after its own task on a case where it has none takes no part in the case: 403."""
    return 403 if mine else 404


async def task_view(
    client: Client, pool: asyncpg.Pool, case_id: str, department: str, *, mine: bool = False
) -> TaskView:
    return await _call(
        lambda: read_task_view(client, pool, case_id, department, rpc_timeout=RPC_TIMEOUT),
        what=_task(case_id, department),
        missing=_unknown_task(case_id, department),
        missing_status=_no_task(mine),
    )


async def task_update(
    client: Client,
    case_id: str,
    department: str,
    update,
    command: BaseModel,
    *,
    request_id: str | None = None,
    mine: bool = False,
) -> TaskView:
    """Run one of `DepartmentTaskWorkflow`'s updates on the department's task of the case (once per
    `request_id`, as `case_update`); `mine`: the department itself asks."""
    handle = task_handle(client, case_id, department)
    return await _call(
        lambda: handle.execute_update(update, command, id=request_id, rpc_timeout=RPC_TIMEOUT),
        what=_task(case_id, department),
        missing=_unknown_task(case_id, department),
        missing_status=_no_task(mine),
    )


async def case_actions(client: Client, case_id: str, org: str) -> list[ActionKind]:
    """What `org` may do on the case now (its workflow's `actions` query: the validators' own rules); nothing
    for a case whose workflow Temporal no longer has."""
    handle = case_handle(client, case_id)
    return await _actions(
        lambda: handle.query("actions", org, result_type=list[ActionKind], rpc_timeout=RPC_TIMEOUT),
        _case(case_id),
        _unknown_case(case_id),
    )


async def task_actions(client: Client, case_id: str, department: str, org: str) -> list[ActionKind]:
    """What `org` may do on the department's task of the case now (the task workflow's `actions` query)."""
    handle = task_handle(client, case_id, department)
    return await _actions(
        lambda: handle.query("actions", org, result_type=list[ActionKind], rpc_timeout=RPC_TIMEOUT),
        _task(case_id, department),
        _unknown_task(case_id, department),
    )


async def _actions(
    query: Callable[[], Awaitable[list[ActionKind]]], what: Message, missing: Message
) -> list[ActionKind]:
    try:
        return await _call(query, what=what, missing=missing)
    except ApiError as error:
        if error.status_code in (404, 409):
            return []
        raise
