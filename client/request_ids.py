"""The id of the HTTP request behind a Temporal call, carried across to the worker that handles it.

The API sets `current` for each request (api/observability.py); the client interceptor puts it in the
`whistle-request-id` header of every workflow start, signal and update it sends; the worker's interceptor
writes one log line per start, signal or update with that id beside the workflow and update ids. So one
grep of a response's `X-Request-ID` finds the API's access line and the worker's line for what it caused.
The update id itself stays the Idempotency-Key's (api/bodies.py): a request id a client chose must never
make two requests one.
"""

from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from temporalio import client, workflow
from temporalio.api.common.v1 import Payload
from temporalio.converter import default
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

HEADER = "whistle-request-id"
current: ContextVar[str | None] = ContextVar("whistle_request_id", default=None)


def _with_request_id(headers: Any) -> dict[str, Payload]:
    request_id = current.get()
    if request_id is None:
        return headers
    return {**headers, HEADER: default().payload_converter.to_payload(request_id)}


class RequestIdPropagation(client.Interceptor):
    """Client side: the current request id in the header of what the client starts, signals or updates."""

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _Outbound(next)


class _Outbound(client.OutboundInterceptor):
    async def start_workflow(self, input: client.StartWorkflowInput) -> Any:
        return await super().start_workflow(replace(input, headers=_with_request_id(input.headers)))

    async def signal_workflow(self, input: client.SignalWorkflowInput) -> None:
        await super().signal_workflow(replace(input, headers=_with_request_id(input.headers)))

    async def start_workflow_update(self, input: client.StartWorkflowUpdateInput) -> Any:
        return await super().start_workflow_update(replace(input, headers=_with_request_id(input.headers)))


class RequestLog(Interceptor):
    """Worker side: one log line (not repeated on replay) per start, signal and accepted update that names
    the request id it came with."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound


def _request_id(headers: Any) -> str | None:
    payload = headers.get(HEADER)
    return None if payload is None else default().payload_converter.from_payload(payload, str)


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        if request_id := _request_id(input.headers):
            workflow.logger.info("workflow started, request %s", request_id, extra={"request_id": request_id})
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        if request_id := _request_id(input.headers):
            workflow.logger.info(
                "signal %s, request %s", input.signal, request_id, extra={"request_id": request_id}
            )
        await super().handle_signal(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        if request_id := _request_id(input.headers):
            workflow.logger.info(
                "update %s (update id %s), request %s",
                input.update,
                input.id,
                request_id,
                extra={"request_id": request_id, "update_id": input.id},
            )
        return await super().handle_update_handler(input)
