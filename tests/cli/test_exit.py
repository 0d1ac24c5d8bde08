"""`whistle worker` with Temporal unreachable ends the same way every time: one line naming Temporal, exit 1;
`whistle api` serves without it (/healthz answers 503) and stops cleanly.

It used to abort now and then (exit 134, `Fatal Python error: PyGILState_Release`) when a thread of the
SDK's Rust runtime was still inside the interpreter as it finalized; one run proves little, so 20 do.
"""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

WHISTLE = Path(sys.executable).parent / "whistle"
NOTHING_THERE = "127.0.0.1:1"
RUNS, AT_ONCE = 20, 5


async def _worker_without_temporal(environment: dict[str, str]) -> tuple[int, list[str]]:
    process = await asyncio.create_subprocess_exec(
        str(WHISTLE),
        "worker",
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, err.decode().splitlines()


def _environment() -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("TEMPORAL_", "DATABASE_URL", "WHISTLE_"))
    }
    return environment | {"TEMPORAL_ADDRESS": NOTHING_THERE}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_worker_without_temporal_exits_1_with_one_line_every_time():
    environment = _environment()
    outcomes = []
    for _ in range(RUNS // AT_ONCE):
        outcomes += await asyncio.gather(*(_worker_without_temporal(environment) for _ in range(AT_ONCE)))
    for code, lines in outcomes:
        assert code == 1 and len(lines) == 1, (code, lines)
        assert lines[0].startswith(f"whistle: Temporal at {NOTHING_THERE} is unreachable: "), lines


async def _api_without_temporal(environment: dict[str, str]) -> tuple[int | None, int, str]:
    """`whistle api` serves without Temporal (/healthz says 503); SIGTERM then stops it: its exit code."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        str(WHISTLE),
        "api",
        env=environment | {"WHISTLE_API_PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    health = None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while health is None and process.returncode is None and loop.time() < deadline:
            try:
                health = (await http.get("/healthz")).status_code
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    return health, process.returncode, err.decode()


async def test_api_without_temporal_serves_and_stops_cleanly(database_url):
    environment = _environment() | {"DATABASE_URL": database_url}
    outcomes = await asyncio.gather(*(_api_without_temporal(environment) for _ in range(AT_ONCE)))
    for health, code, err in outcomes:
        assert (health, code) == (503, 0), err[-2000:]
