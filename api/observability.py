"""What the API tells operators: a request id on every request and response (`X-Request-ID`, taken from a
proxy when it sends a valid one), one access log line per request carrying it (as does every other line
logged while serving it, and the worker's line for the workflow start, signal or update it caused: see
client/request_ids.py), and Prometheus metrics of requests at /metrics."""

import time

import structlog
from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.routing import get_route_name
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from client import request_ids

HEADER = "X-Request-ID"
METRICS = "/metrics"

log = structlog.get_logger("api.access")


class AccessLog:
    """One line per HTTP request: method, route (its template, so no token or id of a path reaches the log),
    status, duration and request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = correlation_id.get()
        started = time.perf_counter()
        status = 500  # unless the app answers: an exception escaped it

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        passed_on = request_ids.current.set(request_id)
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                try:
                    await self.app(scope, receive, sending)
                finally:
                    log.info(
                        "http request",
                        method=scope["method"],
                        route=get_route_name(Request(scope), should_include_root_path=False) or "unmatched",
                        status=status,
                        duration_ms=round(1000 * (time.perf_counter() - started), 1),
                        request_id=request_id,  # also where the context variables are not merged in
                    )
        finally:
            request_ids.current.reset(passed_on)


def install(app: FastAPI) -> None:
    # A registry of the app's own: a process (or a test session) may build several apps.
    Instrumentator(
        registry=CollectorRegistry(), should_group_status_codes=False, excluded_handlers=[METRICS]
    ).instrument(app).expose(app, endpoint=METRICS, include_in_schema=False)
    app.add_middleware(AccessLog)
    app.add_middleware(CorrelationIdMiddleware, header_name=HEADER)  # outside AccessLog: the id is set first
