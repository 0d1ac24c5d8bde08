"""Resident-side tests: a worker on the time-skipping server and real PostgreSQL, every log line captured."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
import structlog

from schemas.case import Actor, Reporter
from tests.workflows.conftest import Harness
from workers.notification_delivery import Backoff, DeliveryLoop
from workers.worker import build_worker

PHONE = "13812345678"
NAME = "王小明"
REPORTER = Reporter(name=NAME, phone=PHONE)

PROPERTY = Actor(org="PM-LVYUAN")  # property company of HP-DF-QH-1
OWNERS = Actor(org="OC-HP-DF-QH-1")
COMMUNITY = Actor(org="HP-DF-QH")
STREET = Actor(org="HP-DF")


class LogLines(logging.Handler):
    """Every record that reaches the root logger, rendered the way production renders it (JSON)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        shared = [structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name]
        self.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(ensure_ascii=False),
                ],
                foreign_pre_chain=shared,
            )
        )

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(autouse=True)
def log_lines() -> Iterator[list[str]]:
    """Route structlog through stdlib logging for the test, capture everything, and fail the test if the
    reporter's phone number or name reached any line."""
    previous = structlog.get_config()
    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = LogLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    # INFO as in production: the SDK's DEBUG line for a rejected update formats a traceback inside the
    # workflow sandbox, which the sandbox refuses (the workflow task then fails).
    root.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.configure(**previous)
    leaked = [line for line in handler.lines if PHONE in line or NAME in line]
    assert not leaked, f"reporter details in {len(leaked)} log line(s), e.g. {leaked[0]}"


@pytest_asyncio.fixture(loop_scope="session")
async def resident(fresh_time_env, pool, task_queue) -> AsyncIterator[Harness]:
    """The workflow tests' harness (replayed at teardown), with the workflow cache on."""
    harness = Harness(env=fresh_time_env, pool=pool, task_queue=task_queue)
    async with build_worker(fresh_time_env.client, pool, task_queue):
        yield harness
        assert await harness.replay() >= len(harness.started)


@pytest_asyncio.fixture(loop_scope="session")
async def delivery(pool) -> AsyncIterator[Callable[[], asyncio.Task]]:
    """Start delivery loops as the worker process runs them (fast back-off); all stop at teardown."""
    running: list[asyncio.Task] = []

    def start() -> asyncio.Task:
        loop = DeliveryLoop(pool, backoff=Backoff(initial=0.1, maximum=0.4), poll_interval=0.05, timeout=2.0)
        running.append(asyncio.create_task(loop.run()))
        return running[-1]

    yield start
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A minimal HTTP/1.1 webhook receiver on 127.0.0.1: records every POST, answers 503 `failures` times."""

    port: int
    failures: int = 0
    requests: list[Request] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/whistle"

    async def start(self) -> "Receiver":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = {}
        for line in head.split("\r\n")[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(Request(headers=headers, body=body))
        status = "503 Service Unavailable" if self.failures > 0 else "204 No Content"
        self.failures -= 1
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()
