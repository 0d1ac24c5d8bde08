"""`whistle worker` with Temporal unreachable ends the same way every time: one line naming Temporal, exit 1.

It used to abort now and then (exit 134, `Fatal Python error: PyGILState_Release`) when a thread of the
SDK's Rust runtime was still inside the interpreter as it finalized; one run proves little, so 20 do.
"""

import asyncio
import os
import sys
from pathlib import Path

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


async def test_worker_without_temporal_exits_1_with_one_line_every_time():
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("TEMPORAL_", "DATABASE_URL", "WHISTLE_"))
    } | {"TEMPORAL_ADDRESS": NOTHING_THERE}
    outcomes = []
    for _ in range(RUNS // AT_ONCE):
        outcomes += await asyncio.gather(*(_worker_without_temporal(environment) for _ in range(AT_ONCE)))
    for code, lines in outcomes:
        assert code == 1 and len(lines) == 1, (code, lines)
        assert lines[0].startswith(f"whistle: Temporal at {NOTHING_THERE} is unreachable: "), lines
