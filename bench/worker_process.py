"""The measured worker: the Whistle worker and the floor worker in a child process whose CPU and memory are its own.

The parent starts `python -m bench.worker_process <config json>`, waits for the line `ready` on its stdout,
samples it with psutil and stops it with SIGTERM.
"""

import asyncio
import signal
import sys
from pathlib import Path

import psutil
from pydantic import BaseModel

from bench.results import WorkerUsage

READY = "ready"
_START_SECONDS = 60
_RSS_SAMPLE_SECONDS = 0.1


class WorkerConfig(BaseModel):
    temporal_address: str
    database_url: str
    task_queue: str
    floor_task_queue: str
    options: dict[str, int] = {}  # temporalio Worker options: slots, cache size


async def _serve(config: WorkerConfig) -> None:
    from bench.floor import floor_worker
    from client import logs
    from client.settings import Settings
    from client.startup import connect_temporal, create_pool
    from workers.worker import build_worker

    logs.configure("json")
    settings = Settings(temporal_address=config.temporal_address, database_url=config.database_url)
    client = await connect_temporal(settings)
    pool = await create_pool(config.database_url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        async with (
            build_worker(client, pool, config.task_queue, **config.options),
            floor_worker(client, config.floor_task_queue, **config.options),
        ):
            sys.stdout.write(READY + "\n")
            sys.stdout.flush()
            await stop.wait()
    finally:
        await pool.close()


class MeasuredWorker:
    """The worker child process, seen from the bench: start, per-phase usage, stop."""

    def __init__(self, config: WorkerConfig, log_file: Path) -> None:
        self.config = config
        self.log_file = log_file
        self._process: asyncio.subprocess.Process | None = None
        self._ps: psutil.Process | None = None
        self._sampler: asyncio.Task | None = None
        self._peak_rss = 0
        self._phase_cpu = 0.0
        self._phase_rss = 0

    async def __aenter__(self) -> "MeasuredWorker":
        with self.log_file.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.worker_process",
                self.config.model_dump_json(),
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), _START_SECONDS)
        except TimeoutError:
            line = b""
        if line.decode().strip() != READY:
            await self._stop()
            raise RuntimeError(f"bench worker did not start; see {self.log_file}")
        self._ps = psutil.Process(self._process.pid)
        self._sampler = asyncio.create_task(self._sample_rss())
        self.start_phase()
        return self

    async def __aexit__(self, *_) -> None:
        await self._stop()

    @property
    def process(self) -> psutil.Process:
        assert self._ps is not None
        return self._ps

    async def _stop(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
        assert self._process is not None
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 30)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()

    async def _sample_rss(self) -> None:
        while True:
            self._peak_rss = max(self._peak_rss, self._rss())
            await asyncio.sleep(_RSS_SAMPLE_SECONDS)

    def _rss(self) -> int:
        assert self._ps is not None
        return self._ps.memory_info().rss

    def _cpu(self) -> float:
        assert self._ps is not None
        times = self._ps.cpu_times()
        return times.user + times.system

    def start_phase(self) -> None:
        self._phase_cpu = self._cpu()
        self._phase_rss = self._peak_rss = self._rss()

    def end_phase(self) -> WorkerUsage:
        """Usage since the last `start_phase`; starts the next phase."""
        usage = WorkerUsage(
            cpu_seconds=round(self._cpu() - self._phase_cpu, 3),
            rss_start_mb=round(self._phase_rss / 2**20, 1),
            rss_peak_mb=round(max(self._peak_rss, self._rss()) / 2**20, 1),
        )
        self.start_phase()
        return usage


if __name__ == "__main__":
    asyncio.run(_serve(WorkerConfig.model_validate_json(sys.argv[1])))
