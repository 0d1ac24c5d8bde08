"""Smoke test of `whistle dev` as a user runs it: healthy, real Temporal and PostgreSQL, clean stop, data kept.

The stack's DATABASE_URL and addresses are read from `<data dir>/dev.json`, which `whistle dev` writes
while it runs.
"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import psutil
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowExecutionStatus

from activities.migrations import available
from client import temporal
from client.settings import Settings
from devstack.dev import KEY_FILE, RETENTION
from devstack.manifest import MANIFEST, DevManifest
from schemas.case import CaseStart
from tests.waiting import HTTP_TIMEOUT
from workflows import search_attributes

WHISTLE = Path(sys.executable).parent / "whistle"
START_SECONDS = 180  # generous: on a busy 2-core machine the dev server, PostgreSQL and the worker start slowly
STOP_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(data_dir: Path) -> dict[str, str]:
    """Everything embedded, configured through the WHISTLE_* variables on free ports."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("TEMPORAL_", "DATABASE_URL", "WHISTLE_"))
    }
    return environment | {
        "WHISTLE_DATA_DIR": str(data_dir),
        "WHISTLE_API_PORT": str(_free_port()),
        "WHISTLE_TEMPORAL_PORT": str(_free_port()),
        "WHISTLE_TEMPORAL_UI_PORT": str(_free_port()),
        "COLUMNS": "250",  # the table of what runs where, unwrapped
    }


@contextmanager
def whistle_dev(data_dir: Path, stop: signal.Signals, *, to_group: bool) -> Iterator[DevManifest]:
    """Start `whistle dev` in its own process group, yield once /healthz is 200, then stop it with `stop`."""
    output = data_dir.parent / "whistle-dev.log"
    with output.open("ab") as log:
        process = subprocess.Popen(
            [str(WHISTLE), "dev"],
            env=_environment(data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield _healthy(process, data_dir / MANIFEST, output)
    finally:
        if to_group:
            os.killpg(process.pid, stop)  # what Ctrl-C in a terminal does
        else:
            process.send_signal(stop)
        try:
            exit_code = process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert exit_code == 0, output.read_text()[-3000:]
    _assert_nothing_left(process.pid, data_dir)


def _healthy(process: subprocess.Popen, manifest_file: Path, output: Path) -> DevManifest:
    deadline = time.monotonic() + START_SECONDS
    with httpx.Client(timeout=5) as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"whistle dev exited early:\n{output.read_text()[-3000:]}"
            if manifest_file.exists():
                manifest = DevManifest.model_validate_json(manifest_file.read_text())
                try:
                    response = http.get(f"{manifest.api_url}/healthz")
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 200:
                    health = response.json()
                    assert health["temporal"]["ok"] and health["postgres"]["ok"], health
                    return manifest
            time.sleep(0.2)
    raise AssertionError(f"whistle dev not healthy within {START_SECONDS} s:\n{output.read_text()[-3000:]}")


def _assert_nothing_left(group: int, data_dir: Path) -> None:
    left = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            in_group = os.getpgid(process.pid) == group
        except ProcessLookupError:
            continue
        uses_data_dir = any(str(data_dir) in argument for argument in process.info["cmdline"] or [])
        if in_group or uses_data_dir:
            left.append(process.info)
    assert not left, f"processes left behind: {left}"
    assert not (data_dir / MANIFEST).exists()


async def test_dev_stack_runs_stops_cleanly_and_keeps_its_data(tmp_path):
    data_dir = tmp_path / "data"
    probe_id = f"smoke-{uuid.uuid4()}"
    marker = uuid.uuid4().hex

    with whistle_dev(data_dir, signal.SIGINT, to_group=True) as manifest:
        dashboard = f"{manifest.api_url}/dashboard/"
        shown = (tmp_path / "whistle-dev.log").read_text().splitlines()
        assert any("Supervisors' dashboard 督办看板" in line and dashboard in line for line in shown)
        assert any("Workbench 工作台" in line and f"{manifest.api_url}/work/" in line for line in shown)
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            front_door = await http.get(manifest.api_url, follow_redirects=True)
        assert front_door.status_code == 200 and str(front_door.url) == f"{manifest.api_url}/signin"
        client = await Client.connect(manifest.temporal_address, namespace=manifest.temporal_namespace)
        registered = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=manifest.temporal_namespace)
        )
        assert {key.name for key in search_attributes.ALL} <= registered.custom_attributes.keys()
        namespace = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=manifest.temporal_namespace)
        )
        assert namespace.config.workflow_execution_retention_ttl.ToTimedelta() == RETENTION
        await _payloads_are_encrypted(manifest, data_dir, client)
        key_ring = manifest.payload_key_file.read_text()
        # Nobody polls this queue: the workflow stays open, so the restart must still list it.
        await client.start_workflow("SmokeProbe", id=probe_id, task_queue=f"smoke-{marker}")

        connection = await asyncpg.connect(manifest.database_url)
        try:
            assert await connection.fetchval("SELECT count(*) FROM schema_migrations") == len(available())
            assert await connection.fetchval("SELECT count(*) FROM compound_parties") >= 8
            assert await connection.fetchval("SELECT count(*) FROM categories") >= 14
            await connection.execute("CREATE TABLE smoke_marker (token text)")
            await connection.execute("INSERT INTO smoke_marker VALUES ($1)", marker)
        finally:
            await connection.close()

    with whistle_dev(data_dir, signal.SIGTERM, to_group=False) as manifest:
        assert manifest.payload_key_file.read_text() == key_ring  # the same key: earlier cases stay readable
        client = await Client.connect(manifest.temporal_address, namespace=manifest.temporal_namespace)
        description = await client.get_workflow_handle(probe_id).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        connection = await asyncpg.connect(manifest.database_url)
        try:
            assert await connection.fetchval("SELECT token FROM smoke_marker") == marker
        finally:
            await connection.close()


async def _payloads_are_encrypted(manifest: DevManifest, data_dir: Path, plain: Client) -> None:
    """`whistle dev` made itself a key ring (the owner's alone), seals what it writes to Temporal with it,
    and its Web UI asks the API's codec server."""
    assert manifest.payload_key_file.name == KEY_FILE and manifest.payload_key_file.parent.name == data_dir.name
    assert stat.S_IMODE(manifest.payload_key_file.stat().st_mode) == 0o600
    ui = [
        process.info["cmdline"]
        for process in psutil.process_iter(["cmdline"])
        if {"--ui-codec-endpoint", manifest.temporal_address.split(":")[1]} <= set(process.info["cmdline"] or [])
    ]
    assert ui and ui[0][ui[0].index("--ui-codec-endpoint") + 1] == f"{manifest.api_url}/dashboard/codec"
    name = "上官密"
    async with httpx.AsyncClient(base_url=manifest.api_url, timeout=30) as http:
        reported = await http.post(
            "/v1/cases",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={"compound": "HP-DF-QH-2", "category": "POULTRY", "description": "hens", "reporter": {"name": name}},
        )
    assert reported.status_code == 201, reported.text
    workflow_id = f"case-{reported.json()['case_id']}"
    raw = await plain.get_workflow_handle(workflow_id).fetch_history()
    assert name.encode() not in b"".join(event.SerializeToString() for event in raw.events)
    keyed = await temporal.connect(
        Settings(temporal_address=manifest.temporal_address, payload_key_file=manifest.payload_key_file)
    )
    started = (await keyed.get_workflow_handle(workflow_id).fetch_history()).events[0]
    [start] = await keyed.data_converter.decode(
        started.workflow_execution_started_event_attributes.input.payloads, [CaseStart]
    )
    assert start.report.reporter.name == name


def _one_line_failure(arguments: list[str], environment: dict[str, str]) -> str:
    """Run `whistle …`, expecting exit code 1 with a single explanatory line and no traceback."""
    result = subprocess.run([str(WHISTLE), *arguments], env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_busy_api_port_is_a_one_line_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = _one_line_failure(["dev", "--api-port", str(port)], _environment(tmp_path / "data"))
    assert line == f"whistle: API port {port} on 127.0.0.1 is already in use"


def test_unreachable_servers_are_one_line_errors(tmp_path):
    nothing_there = f"127.0.0.1:{_free_port()}"
    environment = _environment(tmp_path / "data") | {
        "TEMPORAL_ADDRESS": nothing_there,
        "DATABASE_URL": f"postgresql://whistle:secret@{nothing_there}/whistle",
    }
    # `whistle dev` starts its own PostgreSQL, then fails on Temporal. Its data is not under pytest's tmp_path:
    # PostgreSQL runs as another user, and any pytest session starting meanwhile closes that tree to others.
    data_dir = Path(tempfile.mkdtemp(prefix="whistle-dev-"))
    dev_environment = {key: value for key, value in environment.items() if key != "DATABASE_URL"}
    runs = [
        (["worker"], environment),
        (["migrate"], environment),
        (["dev"], dev_environment | {"WHISTLE_DATA_DIR": str(data_dir)}),
    ]
    try:
        with ThreadPoolExecutor(len(runs)) as running:  # at once: each spends seconds starting
            worker, migrate, dev = running.map(lambda run: _one_line_failure(*run), runs)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    assert worker.startswith(f"whistle: Temporal at {nothing_there} is unreachable: ")
    assert migrate.startswith(
        f"whistle: PostgreSQL at postgresql://whistle:***@{nothing_there}/whistle is unreachable: "
    )
    assert dev.startswith(f"whistle: Temporal at {nothing_there} is unreachable: ")
