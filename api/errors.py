"""Every error the API returns, in one place: what each failure means for the caller, and its shape.

`/v1` answers `{"code": "...", "detail": "..."}`: `code` is stable and language-free, for programs; `detail`
says what is wrong in the request's language (Accept-Language, Chinese by default), organisations and levels
by name. A 422 is FastAPI's field-level list `{"detail": [{"type", "loc", "msg"}, ...]}` (the OpenAPI
`HTTPValidationError`; `type` and `loc` are pydantic's, `msg` is in the language), with `code` and a
`message` summing it up beside it. Open311 paths answer the GeoReport v2 error array
`[{"code": ..., "description": ...}]`: 403 for a missing or bad api_key, 404 for an unknown resource, 503 when
a dependency is down, 400 for everything else (the specific code in the body).

A dependency that fails (PostgreSQL, Temporal, or no worker answering in time) is a 503 naming it, with
`Retry-After`: the request may be sent again as it is.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import asyncpg.exceptions._base as asyncpg_client
import structlog
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.wording import needs_names, say
from client.names import name_book
from i18n.language import _, gettext, ngettext
from i18n.names import NameBook
from schemas.messages import N_, Invalid, Message

log = structlog.get_logger(__name__)

OPEN311_PREFIX = "/open311/"
RETRY_AFTER_SECONDS = 5
NAMES_WAIT = 2.0  # seconds an error waits for the registry's names before it names codes instead

# PostgreSQL cannot serve the request now: unreachable, restarting ("the database system is starting up",
# 57P03), shutting down, out of connections (53300) or refusing the API's login; OSError covers the socket.
# A connection cut by a stop in the middle of an operation can be left in an impossible protocol state
# (InternalClientError); the pool replaces it on release.
_POSTGRES_DOWN = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)
# The client's RPC timeout expiring shows as CANCELLED ("Timeout expired"), the server's as DEADLINE_EXCEEDED.
_NO_ANSWER_IN_TIME = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)

# The stable code of each status, unless an error names a more specific one.
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
    503: "unavailable",
}
_CODE_DESCRIPTION = "stable and language-free, for programs: " + ", ".join(sorted(set(_CODES.values())))


class ErrorMessage(BaseModel):
    code: str = Field(description=_CODE_DESCRIPTION + ", case_closed, invalid_transition, not_ready")
    detail: str = Field(description="what is wrong, in the request's language (Accept-Language; Chinese by default)")


class Open311Error(BaseModel):
    code: int
    description: str


class ApiError(Exception):
    """A failure with its HTTP status and a message that says what is wrong (or missing): an English
    template (marked with N_) and its parameters, said in the request's language when answered."""

    def __init__(
        self,
        status_code: int,
        template: str,
        *,
        params: dict[str, Any] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.words = Message(template=template, params=params or {})
        super().__init__(self.words.english())
        self.status_code = status_code
        self.code = code or _CODES.get(status_code, "error")
        self.headers = headers

    @property
    def message(self) -> str:
        """In the language in force, codes as they are (`said` names them); `words.english()` for logs."""
        return say(self.words)


class FieldError(ApiError):
    """422 for input that is well-formed but unacceptable (an unknown compound, a workflow validator's
    refusal), answered in the same field-level shape as FastAPI's own validation errors."""

    def __init__(
        self,
        location: tuple[str | int, ...],
        template: str,
        kind: str = "unknown_reference",
        *,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status.HTTP_422_UNPROCESSABLE_CONTENT, template, params=params)
        self.location = location
        self.kind = kind


def unauthorized(template: str) -> ApiError:
    return ApiError(status.HTTP_401_UNAUTHORIZED, template, headers={"WWW-Authenticate": "Bearer"})


WORKER = N_("the worker")


def unavailable(dependency: str, reason: str) -> ApiError:
    """503 naming the dependency that failed; the caller may repeat the request after `Retry-After`."""
    return ApiError(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        N_("%(dependency)s is unavailable, try again shortly: %(reason)s"),
        params={"dependency": dependency, "reason": reason},
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
        return unavailable(WORKER, "no worker answered in time")
    if isinstance(error, RPCError):
        if error.status in _NO_ANSWER_IN_TIME:  # a query or update no worker picked up before the RPC timeout
            return unavailable(WORKER, f"Temporal or its worker did not answer in time ({error.message})")
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


# ---- pydantic's field errors, in the language ----------------------------------------------------------------

_FIELD_MESSAGES = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_pattern_mismatch": N_("String should match pattern '%(pattern)s'"),
    "enum": N_("Input should be %(expected)s"),
    "literal_error": N_("Input should be %(expected)s"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than": N_("Input should be greater than %(gt)s"),
    "greater_than_equal": N_("Input should be greater than or equal to %(ge)s"),
    "less_than": N_("Input should be less than %(lt)s"),
    "less_than_equal": N_("Input should be less than or equal to %(le)s"),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime, %(error)s"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date, %(error)s"),
    "timezone_aware": N_("Input should have timezone info"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, %(error)s"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime, %(error)s"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or object to extract fields from"),
    "model_attributes_type": N_("Input should be a valid dictionary or object to extract fields from"),
    "url_parsing": N_("Input should be a valid URL, %(error)s"),
    "url_scheme": N_("URL scheme should be %(expected_schemes)s"),
    "json_invalid": N_("The body is not valid JSON"),
}


def _choices(expected: str) -> str:
    """pydantic's "'A', 'B' or 'C'" in the language."""
    head, separator, last = expected.rpartition(" or ")
    return _("%(choices)s or %(last)s") % {"choices": head, "last": last} if separator else expected


def _counted(kind: str, size: int) -> str | None:
    """pydantic's length errors, counted in the language."""
    match kind:
        case "string_too_short":
            text = ngettext(
                "String should have at least %(num)d character", "String should have at least %(num)d characters", size
            )
        case "string_too_long":
            text = ngettext(
                "String should have at most %(num)d character", "String should have at most %(num)d characters", size
            )
        case "too_short":
            text = ngettext("List should have at least %(num)d item", "List should have at least %(num)d items", size)
        case "too_long":
            text = ngettext("List should have at most %(num)d item", "List should have at most %(num)d items", size)
        case _:
            return None
    return text % {"num": size}


def field_message(error: dict[str, Any]) -> str:
    """One of pydantic's field errors in the language in force (its own English for a type not listed)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), Invalid):
        return say(ctx["error"].words)
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return gettext(str(ctx["error"]))
    counted = _counted(kind, ctx.get("min_length", ctx.get("max_length", 0)))
    if counted is not None:
        return counted
    template = _FIELD_MESSAGES.get(kind)
    if template is None:
        return error["msg"]
    params = {key: str(value) for key, value in ctx.items()}
    if "expected" in params:
        params["expected"] = _choices(params["expected"])
    try:
        return gettext(template) % params
    except KeyError:  # pydantic left out a value the template names
        return error["msg"]


def _field(location: list[Any]) -> str:
    return ".".join(str(part) for part in location[1:]) or str(location[0])


def _describe(errors: list[dict[str, Any]]) -> str:
    return _("; ").join(_("%(field)s: %(problem)s") % {"field": _field(e["loc"]), "problem": e["msg"]} for e in errors)


# ---- answers ---------------------------------------------------------------------------------------------------


async def _names(request: Request, message: Message) -> NameBook | None:
    """The registry's names, if the message names codes and PostgreSQL answers in time (else codes are shown)."""
    if not needs_names(message):
        return None
    try:
        async with asyncio.timeout(NAMES_WAIT):
            return await name_book(request.app.state.db)
    except Exception as error:  # the error is being answered: its codes stand in for the names
        log.warning("error answered without names", error=_first_line(error))
        return None


async def said(request: Request, message: Message) -> str:
    """The message in the request's language, its codes named."""
    return say(message, await _names(request, message))


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


def _message(
    request: Request, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    if _open311(request):
        return _open311_response(status_code, detail, headers)
    return JSONResponse(status_code=status_code, content={"code": code, "detail": detail}, headers=headers)


def _unprocessable(request: Request, errors: list[dict[str, Any]], msg: Callable[[dict], str]) -> JSONResponse:
    """422 (Open311: 400) listing `errors`, each one's `msg` in the language."""
    errors = [{"type": e["type"], "loc": list(e["loc"]), "msg": msg(e)} for e in errors]
    message = _("The request is not valid: %(problems)s") % {"problems": _describe(errors)}
    if _open311(request):
        return _open311_response(400, message)
    content = {"code": _CODES[422], "message": message, "detail": jsonable_encoder(errors)}
    return JSONResponse(status_code=422, content=content)


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return _message(request, error.status_code, error.code, await said(request, error.words), error.headers)


_HTTP_PHRASES = {404: N_("Not Found"), 405: N_("Method Not Allowed")}


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    if error.status_code == status.HTTP_400_BAD_REQUEST:  # FastAPI could not read the body (not UTF-8 JSON)
        return _unprocessable(request, [{"type": "json_invalid", "loc": ["body"]}], field_message)
    detail = gettext(_HTTP_PHRASES.get(error.status_code, str(error.detail)))
    code = _CODES.get(error.status_code, "error")
    return _message(request, error.status_code, code, detail, getattr(error, "headers", None))


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    return _unprocessable(request, list(error.errors()), field_message)


async def _field_error(request: Request, error: FieldError) -> JSONResponse:
    text = await said(request, error.words)
    return _unprocessable(request, [{"type": error.kind, "loc": error.location}], lambda _error: text)


async def _unstorable(request: Request, error: Exception) -> JSONResponse:
    """Input that passed validation but that PostgreSQL cannot compare or store (a safety net)."""
    text = _("the input holds a value PostgreSQL cannot handle: %(reason)s") % {"reason": error}
    return _unprocessable(request, [{"type": "unstorable", "loc": ["request"]}], lambda _error: text)


async def _invalid_model(request: Request, error: ValidationError) -> JSONResponse:
    """Input that only fails when the API builds a domain model from it (a safety net, never a 500)."""
    return _unprocessable(request, [{**e, "loc": ["body", *e["loc"]]} for e in error.errors()], field_message)


async def _dependency_down(request: Request, error: Exception) -> JSONResponse:
    failure = dependency_failure(error)
    if failure is None:
        raise error  # not a dependency's failure: a defect, answered 500 by the server
    log.warning("dependency unavailable", path=request.url.path, error=failure.words.english())
    return await _api_error(request, failure)


def _documented_validation_errors(app: FastAPI) -> None:
    """The OpenAPI `HTTPValidationError` with the `code` and `message` every 422 carries beside its list."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            body = generate().get("components", {}).get("schemas", {}).get("HTTPValidationError", {})
            body.setdefault("properties", {}).update(
                code={"type": "string", "title": "Code", "description": "invalid_request"},
                message={"type": "string", "title": "Message", "description": "every problem, in the language"},
            )
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


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
    _documented_validation_errors(app)
