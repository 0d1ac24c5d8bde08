"""Every error the API returns, in one place: what each failure means for the caller, and its shape.

`/v1` answers `{"detail": "..."}` (FastAPI's shape; 422 keeps the field-level list). Open311 paths answer
the GeoReport v2 error array `[{"code": ..., "description": ...}]` with the HTTP statuses the spec allows
(403 for a missing or bad api_key, 404 for an unknown resource, 400 for everything else, with the
specific code in the body).
"""

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)

OPEN311_PREFIX = "/open311/"


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


class FieldError(Exception):
    """422 for one input field that is well-formed but refers to nothing (unknown compound or category)."""

    def __init__(self, location: tuple[str | int, ...], message: str, kind: str = "unknown_reference") -> None:
        super().__init__(message)
        self.location = location
        self.message = message
        self.kind = kind

    def errors(self) -> list[dict[str, Any]]:
        return [{"type": self.kind, "loc": list(self.location), "msg": self.message}]


def unauthorized(message: str) -> ApiError:
    return ApiError(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error statuses an endpoint can answer."""
    meaning = {
        401: "missing or unknown key / case token",
        403: "the key or token lacks the right; the message says which",
        404: "unknown case or task",
        409: "the case's state does not allow this action now; the message says why",
        503: "Temporal or PostgreSQL is unreachable",
    }
    return {code: {"model": ErrorMessage, "description": meaning[code]} for code in codes}


def _open311(request: Request) -> bool:
    return request.url.path.startswith(OPEN311_PREFIX)


def _open311_response(status_code: int, description: str) -> JSONResponse:
    http_status = {401: 403, 403: 403, 404: 404}.get(status_code, 400)
    code = http_status if http_status != 400 else status_code  # e.g. 503 in the body of a 400
    return JSONResponse(
        status_code=http_status, content=[Open311Error(code=code, description=description).model_dump()]
    )


def _message(request: Request, status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if _open311(request):
        return _open311_response(status_code, message)
    return JSONResponse(status_code=status_code, content={"detail": message}, headers=headers)


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return _message(request, error.status_code, error.message, error.headers)


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    return _message(request, error.status_code, str(error.detail), getattr(error, "headers", None))


def _describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(str(part) for part in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in errors)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [{key: e[key] for key in ("type", "loc", "msg") if key in e} for e in error.errors()]
    if _open311(request):
        return _open311_response(400, _describe(errors))
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


async def _field_error(request: Request, error: FieldError) -> JSONResponse:
    if _open311(request):
        return _open311_response(400, _describe(error.errors()))
    return JSONResponse(status_code=422, content={"detail": error.errors()})


async def _unstorable(request: Request, error: Exception) -> JSONResponse:
    """Input that passed validation but that PostgreSQL cannot compare or store (a safety net)."""
    return _message(request, 422, f"the input holds a value PostgreSQL cannot handle: {error}")


async def _invalid_model(request: Request, error: ValidationError) -> JSONResponse:
    """Input that only fails when the API builds a domain model from it (a safety net, never a 500)."""
    errors = [{key: e[key] for key in ("type", "loc", "msg") if key in e} for e in error.errors()]
    if _open311(request):
        return _open311_response(400, _describe([{**e, "loc": ["", *e["loc"]]} for e in errors]))
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


async def _postgres_down(request: Request, error: Exception) -> JSONResponse:
    log.warning("postgres unreachable", path=request.url.path, error=str(error))
    return _message(request, 503, f"PostgreSQL is unreachable, try again shortly ({type(error).__name__})")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(FieldError, _field_error)
    app.add_exception_handler(ValidationError, _invalid_model)
    app.add_exception_handler(asyncpg.DataError, _unstorable)
    for unreachable in (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
        app.add_exception_handler(unreachable, _postgres_down)
