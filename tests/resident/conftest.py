"""Resident-side tests: a worker on the time-skipping server and real PostgreSQL, every log line captured; the
resident's pages and the photo API served for real (uvicorn, the dev server, a worker)."""

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
import structlog
from temporalio.client import Client

from api import keys as api_keys
from client.settings import Settings
from schemas.case import Actor, Reporter
from schemas.domain import Channel
from schemas.keys import Role
from tests.api.conftest import serving
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


# ---- the served stack of the resident's pages and the photo API --------------------------------------------

GENEROUS = "1000/minute"  # rate limits out of the way; tests/resident/test_limits.py serves the defaults


@dataclass
class Site:
    """The real API app served by uvicorn on a free port, a worker on the session's dev server, keys by name."""

    url: str
    settings: Settings
    client: Client
    keys: dict[str, str]

    def photo_files(self) -> list[Path]:
        return sorted(path for path in self.settings.photos.rglob("*") if path.is_file())


SITE_KEYS: dict[str, tuple[str, Role, Channel | None]] = {
    "property": ("PM-LVYUAN", Role.COUNCIL, None),  # HP-DF-QH-1's property company
    "owners": ("OC-HP-DF-QH-1", Role.COUNCIL, None),
    "community": ("HP-DF-QH", Role.COMMUNITY, None),
    "jindi": ("PM-JINDI", Role.COUNCIL, None),  # HP-DF-QH-2's: a stranger to HP-DF-QH-1's cases
    "centre": ("HP-CENTRE", Role.SUPERVISOR, None),
    "open311": ("OPEN311-APP", Role.INTAKE, Channel.OPEN311),
}


def site_settings(dev_env, database_url: str, data_dir: Path, **overrides) -> Settings:
    return Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=f"whistle-resident-{uuid.uuid4()}",
        data_dir=data_dir,
        **({"report_rate_limit": GENEROUS, "phone_rate_limit": GENEROUS, "upload_rate_limit": GENEROUS} | overrides),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(dev_env, pool, database_url, tmp_path_factory) -> AsyncIterator[Site]:
    settings = site_settings(dev_env, database_url, tmp_path_factory.mktemp("whistle"))
    async with pool.acquire() as connection:
        keys = {
            name: (await api_keys.issue(connection, org, role, channel=channel)).key
            for name, (org, role, channel) in SITE_KEYS.items()
        }
    async with build_worker(dev_env.client, pool, settings.task_queue), serving(settings) as url:
        yield Site(url=url, settings=settings, client=dev_env.client, keys=keys)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator:
    """Debian's chromium (no browser download), one per module; each test opens phones of its own in it."""
    from playwright.async_api import async_playwright

    from tests.resident.browser import CHROMIUM_ARGS, chromium

    executable = chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
