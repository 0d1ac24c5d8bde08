"""Every error the API returns, in one place: what each failure means for the caller, and its shape.

`/v1` answers `{"detail": "..."}`, except 422, which is always FastAPI's field-level list
`{"detail": [{"type", "loc", "msg"}, ...]}` (the OpenAPI `HTTPValidationError`). Open311 paths answer the
GeoReport v2 error array `[{"code": ..., "description": ...}]`: 403 for a missing or bad api_key, 404 for an
unknown resource, 503 when a dependency is down, 400 for everything else (the specific code in the body).

A dependency that fails (PostgreSQL, Temporal, or no worker answering in time) is a 503 naming it, with
`Retry-After`: the request may be sent again as it is.
"""

from typing import Any

import asyncpg
import asyncpg.exceptions._base as asyncpg_client
import structlog
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

log = structlog.get_logger(__name__)

OPEN311_PREFIX = "/open311/"
RETRY_AFTER_SECONDS = 5

# PostgreSQL cannot serve the request now: unreachable, restarting ("the database system is starting up",
# 57P03), shutting down, out of connections (53300) or refusing the API's login; OSError covers the socket.
_POSTGRES_DOWN = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)
# The client's RPC timeout expiring shows as CANCELLED ("Timeout expired"), the server's as DEADLINE_EXCEEDED.
_NO_ANSWER_IN_TIME = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)


class ErrorMessage(BaseModel):
    detail: str


class Open311Error(BaseModel):
    code: int
    description: str


class ApiError(Exception):
    """A failure with its HTTP status and a message that says what is wrong (or missing)."""

    def __init__(self, status_code: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers


class FieldError(ApiError):
    """422 for input that is well-formed but unacceptable (an unknown compound, a workflow validator's
    refusal), answered in the same field-level shape as FastAPI's own validation errors."""

    def __init__(self, location: tuple[str | int, ...], message: str, kind: str = "unknown_reference") -> None:
        super().__init__(status.HTTP_422_UNPROCESSABLE_CONTENT, message)
        self.location = location
        self.kind = kind

    def errors(self) -> list[dict[str, Any]]:
        return [{"type": self.kind, "loc": list(self.location), "msg": self.message}]


def unauthorized(message: str) -> ApiError:
    return ApiError(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def unavailable(dependency: str, reason: str) -> ApiError:
    """503 naming the dependency that failed; the caller may repeat the request after `Retry-After`."""
    return ApiError(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"{dependency} is unavailable ({dependency} 暂不可用), try again shortly: {reason}",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def dependency_failure(error: BaseException) -> ApiError | None:
    """The 503 for a failure of PostgreSQL, Temporal or the worker; None for any other error."""
    if isinstance(error, _POSTGRES_DOWN) and not isinstance(error, asyncpg_client.DataError):
        return unavailable("PostgreSQL", _first_line(error))
    if isinstance(error, WorkflowUpdateRPCTimeoutOrCancelledError):
        return unavailable("worker", "no worker answered in time")
    if isinstance(error, RPCError):
        if error.status in _NO_ANSWER_IN_TIME:  # a query or update no worker picked up before the RPC timeout
            return unavailable("worker", f"Temporal or its worker did not answer in time ({error.message})")
        return unavailable("Temporal", f"{error.status.name if error.status else 'RPC error'}: {error.message}")
    if isinstance(error, RuntimeError) and str(error).startswith("Failed client connect"):
        return unavailable("Temporal", _first_line(error))  # the lazy client's connection failed
    return None


_MEANING = {
    401: "missing or unknown key / case token",
    403: "the key or token lacks the right; the message says which",
    404: "unknown case or task",
    409: "the case's state does not allow this action now; the message says why",
    503: "PostgreSQL, Temporal or the worker is unavailable; the message names it. Send again after Retry-After",
}
_RETRY_AFTER_HEADER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


def responses(*codes: int, model: Any = ErrorMessage, meaning: dict[int, str] | None = None) -> dict[int | str, Any]:
    """OpenAPI documentation of the error statuses an endpoint can answer."""
    meaning = {**_MEANING, **(meaning or {})}
    documented: dict[int | str, Any] = {code: {"model": model, "description": meaning[code]} for code in codes}
    if 503 in documented:
        documented[503]["headers"] = _RETRY_AFTER_HEADER
    return documented


def _open311(request: Request) -> bool:
    return request.url.path.startswith(OPEN311_PREFIX)


def _open311_response(status_code: int, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    http_status = {401: 403, 403: 403, 404: 404, 503: 503}.get(status_code, 400)
    code = http_status if http_status != 400 else status_code  # e.g. 409 in the body of a 400
    return JSONResponse(
        status_code=http_status,
        content=[Open311Error(code=code, description=description).model_dump()],
        headers=headers,
    )


def _message(request: Request, status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if _open311(request):
        return _open311_response(status_code, message, headers)
    return JSONResponse(status_code=status_code, content={"detail": message}, headers=headers)


def _describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(str(part) for part in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in errors)


def _unprocessable(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    errors = [{key: e[key] for key in ("type", "loc", "msg") if key in e} for e in errors]
    if _open311(request):
        return _open311_response(400, _describe(errors))
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return _message(request, error.status_code, error.message, error.headers)


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    if error.status_code == status.HTTP_400_BAD_REQUEST:  # FastAPI could not read the body (not UTF-8 JSON)
        return _unprocessable(request, [{"type": "json_invalid", "loc": ["body"], "msg": str(error.detail)}])
    return _message(request, error.status_code, str(error.detail), getattr(error, "headers", None))


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    return _unprocessable(request, list(error.errors()))


async def _field_error(request: Request, error: FieldError) -> JSONResponse:
    return _unprocessable(request, error.errors())


async def _unstorable(request: Request, error: Exception) -> JSONResponse:
    """Input that passed validation but that PostgreSQL cannot compare or store (a safety net)."""
    message = f"the input holds a value PostgreSQL cannot handle: {error}"
    return _unprocessable(request, [{"type": "unstorable", "loc": ["request"], "msg": message}])


async def _invalid_model(request: Request, error: ValidationError) -> JSONResponse:
    """Input that only fails when the API builds a domain model from it (a safety net, never a 500)."""
    return _unprocessable(request, [{**e, "loc": ["body", *e["loc"]]} for e in error.errors()])


async def _dependency_down(request: Request, error: Exception) -> JSONResponse:
    failure = dependency_failure(error)
    if failure is None:
        raise error  # not a dependency's failure: a defect, answered 500 by the server
    log.warning("dependency unavailable", path=request.url.path, error=failure.message)
    return await _api_error(request, failure)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(FieldError, _field_error)
    app.add_exception_handler(ValidationError, _invalid_model)
    for unstorable in (asyncpg.DataError, asyncpg_client.DataError):
        app.add_exception_handler(unstorable, _unstorable)
    for failure in (*_POSTGRES_DOWN, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, RuntimeError):
        app.add_exception_handler(failure, _dependency_down)
