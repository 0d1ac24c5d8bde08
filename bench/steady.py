"""`whistle bench --steady RATE --minutes M`: open-loop arrivals at a fixed rate, the way a city reports.

Cases arrive on a schedule whatever the stack's backlog (open loop: a slow stack does not slow the arrivals).
Most follow the default policy (budgets of hours: they stay open with their timers pending); every
`CLIMB_EVERY`-th follows the bench's few-second climb policy, so automatic escalations happen under the load
and their lateness is measured. The worker caches fewer workflows than the run leaves open, so it evicts and
replays as a worker holding a city's open cases must. Beside it, in the same run, the floor (N workflows with
one no-op activity) gives CPU per workflow for every process: Temporal server, worker, PostgreSQL, clients.
"""

import asyncio
import os
from datetime import UTC, datetime

import psutil

from bench import precision, throughput
from bench.reports import report
from bench.results import PROCESSES, Latency, Machine, StageCpu, SteadyRun
from bench.stack import CLIMB_POLICY, BenchStack, bench_stack
from bench.watch import OWNER_NOTIFIED, ReadModelWatcher
from bench.worker_process import MeasuredWorker, WorkerConfig
from client.cases import report_case

CLIMB_EVERY = 10
_FLOOR_SECONDS = 60  # the floor batch is a minute of arrivals at the same rate
_FLOOR_CONCURRENCY = 20
_GRACE_SECONDS = 15  # after the last arrival: its first escalations fire (3 levels x 4 s)


def _dev_server(bench: psutil.Process, address: str) -> psutil.Process:
    """The bench's own Temporal dev server: its child listening on the stack's address (a test session may run
    other dev servers beside it, and one a test before has not finished stopping)."""
    port = int(address.rsplit(":", 1)[1])
    for process in bench.children(recursive=True):
        listening = (c for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN)
        if "temporal" in process.name() and any(c.laddr.port == port for c in listening):
            return process
    raise RuntimeError(f"no Temporal dev server among the bench's children listens on {address}")


class ProcessClock:
    """CPU seconds spent so far by each process of the stack (PostgreSQL: the postmaster and its backends)."""

    def __init__(self, stack: BenchStack, worker: MeasuredWorker) -> None:
        me = psutil.Process()
        self._processes = {
            "server": _dev_server(me, stack.temporal_address),
            "worker": worker.process,
            "postgres": psutil.Process(stack.postgres.get_pid()),
            "clients": me,
        }

    def read(self) -> dict[str, float]:
        seconds = {}
        for name, process in self._processes.items():
            times = process.cpu_times()
            total = times.user + times.system
            if name == "postgres":  # backends that ended are counted in the postmaster's children times
                total += times.children_user + times.children_system
                total += sum(sum(child.cpu_times()[:2]) for child in process.children(recursive=True))
            seconds[name] = total
        return seconds

    def memory_mb(self) -> dict[str, float]:
        """Resident memory of each process; PostgreSQL's is the proportional set size of the postmaster and its
        backends, so the shared buffers they all map count once."""
        sizes = {}
        for name, process in self._processes.items():
            if name == "postgres":
                family = [process, *process.children(recursive=True)]
                sizes[name] = sum(_pss(member) for member in family)
            else:
                sizes[name] = process.memory_info().rss
        return {name: round(size / 2**20, 1) for name, size in sizes.items()}

    def since(self, before: dict[str, float], items: int) -> StageCpu:
        now = self.read()
        per_item = {name: round((now[name] - before[name]) * 1000 / max(items, 1), 2) for name in PROCESSES}
        return StageCpu(items=items, per_item_ms=per_item)


def _pss(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().pss
    except psutil.NoSuchProcess:  # a backend that ended meanwhile
        return 0


async def run(rate: float, minutes: float, cached: int | None, options: dict[str, int], label: str | None):
    started_at = datetime.now(UTC)
    loop = asyncio.get_running_loop()
    began = loop.time()
    load_before = list(os.getloadavg())
    arrivals = max(1, round(rate * minutes * 60))
    # fewer cached workflows than the run leaves open: a third of the cases by default
    cache = cached if cached is not None else max(10, arrivals // 3)
    async with bench_stack() as stack:
        run_id = os.urandom(4).hex()
        config = WorkerConfig(
            temporal_address=stack.temporal_address,
            database_url=stack.database_url,
            task_queue=f"bench-whistle-{run_id}",
            floor_task_queue=f"bench-floor-{run_id}",
            options={**options, "max_cached_workflows": cache},
        )
        async with MeasuredWorker(config, stack.work_dir / "worker.log") as worker:
            clock = ProcessClock(stack, worker)
            floor_items = max(1, round(rate * _FLOOR_SECONDS))
            before = clock.read()
            await throughput.floor(stack.client, config.floor_task_queue, floor_items, _FLOOR_CONCURRENCY)
            floor = clock.since(before, floor_items)

            worker.start_phase()
            before = clock.read()
            async with ReadModelWatcher(stack.pool, OWNER_NOTIFIED) as notified:
                driver = Arrivals(stack, config.task_queue, notified)
                await driver.run(rate, arrivals)
                await asyncio.sleep(_GRACE_SECONDS)
            steady = clock.since(before, arrivals)
            usage = worker.end_phase()
            open_workflows = await _open_workflows(stack, config.task_queue)
        escalations, lateness = await precision.escalation_lateness(stack.pool, driver.climbing)
    growth_kb = (usage.rss_peak_mb - usage.rss_start_mb) * 1024
    return SteadyRun(
        started_at=started_at,
        label=label,
        rate=rate,
        minutes=minutes,
        cases=arrivals,
        climbing=len(driver.climbing),
        cached_workflows=cache,
        open_workflows=open_workflows,
        machine=Machine(cpus=os.cpu_count() or 0, load_before=load_before, load_after=list(os.getloadavg())),
        floor=floor,
        steady=steady,
        intake=Latency.of(driver.intake),
        owner_notified=Latency.of(driver.owner_notified),
        lateness=lateness,
        escalations=escalations,
        worker=usage,
        worker_kb_per_cached_workflow=round(growth_kb / max(1, min(cache, open_workflows)), 1),
        arrivals_behind_seconds=round(driver.behind, 3),
        total_seconds=round(loop.time() - began, 1),
    )


async def _open_workflows(stack: BenchStack, task_queue: str) -> int:
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    return (await stack.client.count_workflows(query)).count


class Arrivals:
    """Reports case number `first + i` at i / rate seconds after `schedule` begins, each on its own task."""

    def __init__(self, stack: BenchStack, task_queue: str, notified: ReadModelWatcher, first: int = 0) -> None:
        self.stack = stack
        self.task_queue = task_queue
        self.notified = notified
        self.first = first
        self.cases: list[asyncio.Task] = []
        self.climbing: list[str] = []
        self.intake: list[float] = []
        self.owner_notified: list[float] = []
        self.behind = 0.0

    async def schedule(self, rate: float, count: int | None = None, until: asyncio.Event | None = None) -> None:
        """Starts `count` arrivals on schedule (or until `until` is set), without waiting for them to finish."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        number = 0
        while (count is None or number < count) and not (until is not None and until.is_set()):
            due = start + number / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            self.behind = max(self.behind, loop.time() - due)
            self.cases.append(asyncio.create_task(self._case(self.first + number)))
            number += 1

    async def finished(self) -> None:
        await asyncio.gather(*self.cases)

    async def run(self, rate: float, count: int) -> None:
        await self.schedule(rate, count)
        await self.finished()

    @property
    def pending(self) -> int:
        """Cases scheduled whose owner has not been seen notified yet."""
        return len(self.cases) - len(self.owner_notified)

    async def _case(self, number: int) -> None:
        loop = asyncio.get_running_loop()
        climbs = number % CLIMB_EVERY == 0
        began = loop.time()
        reported = await report_case(
            self.stack.client,
            self.stack.pool,
            report(number),
            task_queue=self.task_queue,
            policy=CLIMB_POLICY if climbs else "default",
        )
        self.intake.append(loop.time() - began)
        if climbs:
            self.climbing.append(reported.case_id)
        self.owner_notified.append(await self.notified.until(reported.case_id) - began)
