"""The webhook receiver every notification goes to: it checks each signature, counts each `X-Whistle-Id`, and
answers 503 while the run has it failing."""

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from activities.webhooks import ANY_ORG, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, Subscription, subscribe, verify
from bench.chaos.stack import free_port
from devstack.dev import LOCALHOST


class WebhookReceiver:
    def __init__(self) -> None:
        self.secret = secrets.token_urlsafe(24)
        self.port = free_port()
        self.failing = False
        self.received: Counter[str] = Counter()  # X-Whistle-Id -> deliveries accepted
        self.refused = 0  # deliveries answered 503 while failing
        self.cut_off = 0  # deliveries whose sender died before the body arrived
        self.bad: list[str] = []  # ids whose signature or body did not check out

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        try:
            body = await request.body()
        except ClientDisconnect:  # the worker sending it was killed mid-request
            self.cut_off += 1
            return Response(status_code=400)
        notification_id = request.headers.get(ID_HEADER, "")
        if self.failing:
            self.refused += 1
            return Response(status_code=503)
        signed = verify(
            self.secret, request.headers.get(TIMESTAMP_HEADER, ""), body, request.headers.get(SIGNATURE_HEADER, "")
        )
        notification = json.loads(body)
        if not signed or notification.get("id") != notification_id:
            self.bad.append(notification_id)
        self.received[notification_id] += 1
        return Response(status_code=204)

    async def subscribe(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as connection:
            await subscribe(connection, Subscription(org=ANY_ORG, url=self.url, secret=self.secret))


class _QuietServer(uvicorn.Server):
    """Signals stay with the run (Ctrl-C stops the whole run, not only the receiver)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/hook", receiver._hook, methods=["POST"])])
    server = _QuietServer(uvicorn.Config(app, host=LOCALHOST, port=receiver.port, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await serving
