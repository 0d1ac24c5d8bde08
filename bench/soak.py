"""`whistle bench --soak`: a city's open cases on one machine, then a day's arrivals and a peak.

One stack whose Temporal dev server persists in SQLite (its file is the disk the open cases take), one worker:
1. load: OPEN cases reported through intake (`report_case`, the start input intake gives), `concurrency` at a
   time, on the default policy: each stays open on the council's budget of hours with its SLA timer pending.
   Loaded when every one has its row in the read model (first workflow task and projection done).
2. steady: new cases at `steady_rate` (one in ten on the few-second climb policy, so automatic escalations fire
   under the load, as in `--steady`);
3. peak: `peak_rate`;
4. drain: arrivals go on at the steady rate until the peak's backlog is drained (every case of the peak has its
   owner notified and no workflow task waits in the task queue) and a deadline due after that fires within 1 s,
   at most `minutes_drain`.
Each phase reports CPU per case of every process, intake and owner-notified latency, escalation lateness and the
memory of every process at its end; the load reports its rate, the disk it took and the worker's memory per
cached open case.
"""

import asyncio
import os
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from bench.precision import breaches
from bench.reports import report
from bench.results import Latency, Machine, StageCpu
from bench.stack import BenchStack, bench_stack, temporal_database
from bench.steady import Arrivals, ProcessClock
from bench.watch import OWNER_NOTIFIED, ReadModelWatcher
from bench.worker_process import MeasuredWorker, WorkerConfig
from client.cases import report_case

LATE = 1.0  # seconds: the lateness target, and what "back under" means after the peak
_POLL_SECONDS = 1.0
_LOAD_TIMEOUT_SECONDS = 3600
_PEAK_FIRST = 10_000_000  # case numbers of the phases do not overlap the load's


class SoakPlan(BaseModel):
    open_cases: int = 200_000
    concurrency: int = 200  # loader's reports in progress at once
    steady_rate: float = 0.8
    minutes_steady: float = 20.0
    peak_rate: float = 10.0
    minutes_peak: float = 5.0
    minutes_drain: float = 10.0  # at most
    grace_seconds: float = 15.0  # after a phase's last arrival: its escalations fire (3 levels x 4 s)
    cached: int | None = None  # the worker's cache [the worker's default]
    temporal_store: Literal["sqlite", "memory"] = "sqlite"  # the dev server's: a file (as `whistle dev`) or memory
    sqlite_pragmas: list[str] = []  # e.g. journal_mode=wal, synchronous=normal
    worker_options: dict[str, int] = {}


class Load(BaseModel):
    cases: int
    seconds: float
    per_second: float
    intake: Latency  # report call, under the loader's concurrency
    temporal_mb: float  # the dev server's SQLite file (with its write-ahead log)
    postgres_mb: float  # the bench database
    worker_rss_before_mb: float
    worker_rss_after_mb: float
    worker_kb_per_cached_case: float  # RSS growth over the cases the worker caches after the load


class Phase(BaseModel):
    name: str
    rate: float
    seconds: float
    cases: int
    climbing: int
    cpu: StageCpu
    intake: Latency
    owner_notified: Latency
    lateness: Latency
    escalations_late: int  # breaches that fired LATE or later
    arrivals_behind_seconds: float
    memory_mb: dict[str, float]  # every process at the phase's end


class SoakRun(BaseModel):
    started_at: datetime
    label: str | None = None
    plan: SoakPlan
    machine: Machine
    load: Load
    phases: list[Phase]
    drained: bool
    drain_seconds: float  # peak end -> its cases' owners notified and no workflow task waiting
    # drained: besides, a deadline due after that fired within LATE (not drained: not seen within minutes_drain)
    lateness_recovered_seconds: float  # peak end -> the last breach LATE or later (0: none after the peak)
    total_seconds: float


async def run(plan: SoakPlan, label: str | None) -> SoakRun:
    started_at = datetime.now(UTC)
    loop = asyncio.get_running_loop()
    began = loop.time()
    load_before = list(os.getloadavg())
    async with bench_stack(plan.temporal_store == "sqlite", plan.sqlite_pragmas) as stack:
        run_id = os.urandom(4).hex()
        options = dict(plan.worker_options)
        if plan.cached is not None:
            options["max_cached_workflows"] = plan.cached
        config = WorkerConfig(
            temporal_address=stack.temporal_address,
            database_url=stack.database_url,
            task_queue=f"bench-whistle-{run_id}",
            floor_task_queue=f"bench-floor-{run_id}",
            options=options,
        )
        async with MeasuredWorker(config, stack.work_dir / "worker.log") as worker:
            clock = ProcessClock(stack, worker)
            loaded = await _load(stack, config, worker, plan)
            phases = []
            async with ReadModelWatcher(stack.pool, OWNER_NOTIFIED) as notified:
                steady = Arrivals(stack, config.task_queue, notified, first=plan.open_cases)
                phases.append(
                    await _phase(
                        stack, clock, steady, "steady", plan.steady_rate, plan.minutes_steady, grace=plan.grace_seconds
                    )
                )
                peak = Arrivals(stack, config.task_queue, notified, first=_PEAK_FIRST)
                phases.append(
                    await _phase(stack, clock, peak, "peak", plan.peak_rate, plan.minutes_peak, grace=0, settle=False)
                )
                peak_end = datetime.now(UTC)
                arrivals = Arrivals(stack, config.task_queue, notified, first=2 * _PEAK_FIRST)
                drain = _Drain(stack, config.task_queue, peak, arrivals)
                watch = asyncio.create_task(drain.watch())
                try:
                    done = await _phase(
                        stack,
                        clock,
                        arrivals,
                        "drain",
                        plan.steady_rate,
                        plan.minutes_drain,
                        grace=plan.grace_seconds,
                        until=drain.drained,
                    )
                finally:
                    watch.cancel()
                phases.append(done)
                await peak.finished()  # the peak's figures once all its cases are through
                phases[1] = phases[1].model_copy(update=await _outcomes(stack, peak))
            recovered = await _recovered(stack, [*peak.climbing, *arrivals.climbing], peak_end)
    return SoakRun(
        started_at=started_at,
        label=label,
        plan=plan,
        machine=Machine(cpus=os.cpu_count() or 0, load_before=load_before, load_after=list(os.getloadavg())),
        load=loaded,
        phases=phases,
        drained=drain.drained.is_set(),
        drain_seconds=round(drain.backlog_seconds if drain.backlog_seconds is not None else done.seconds, 1),
        lateness_recovered_seconds=recovered,
        total_seconds=round(loop.time() - began, 1),
    )


async def _load(stack: BenchStack, config: WorkerConfig, worker: MeasuredWorker, plan: SoakPlan) -> Load:
    loop = asyncio.get_running_loop()
    rss_before = worker.process.memory_info().rss
    gate = asyncio.Semaphore(plan.concurrency)
    intake: list[float] = []

    async def one(number: int) -> None:
        async with gate:
            began = loop.time()
            await report_case(stack.client, stack.pool, report(number), task_queue=config.task_queue)
            intake.append(loop.time() - began)

    began = loop.time()
    await asyncio.gather(*(one(number) for number in range(plan.open_cases)))
    while await stack.pool.fetchval("SELECT count(*) FROM cases") < plan.open_cases:
        if loop.time() - began > _LOAD_TIMEOUT_SECONDS:
            raise RuntimeError(f"the read model did not see {plan.open_cases} cases within {_LOAD_TIMEOUT_SECONDS} s")
        await asyncio.sleep(_POLL_SECONDS)
    seconds = loop.time() - began
    rss_after = worker.process.memory_info().rss
    cached = min(plan.open_cases, plan.cached or _worker_cache())
    return Load(
        cases=plan.open_cases,
        seconds=round(seconds, 1),
        per_second=round(plan.open_cases / seconds, 1),
        intake=Latency.of(intake),
        temporal_mb=round(_file_mb(temporal_database(stack.work_dir)), 1),  # 0 in memory
        postgres_mb=round(await stack.pool.fetchval("SELECT pg_database_size(current_database())") / 2**20, 1),
        worker_rss_before_mb=round(rss_before / 2**20, 1),
        worker_rss_after_mb=round(rss_after / 2**20, 1),
        worker_kb_per_cached_case=round((rss_after - rss_before) / 1024 / cached, 1),
    )


def _worker_cache() -> int:
    from workers.worker import CACHED_WORKFLOWS

    return CACHED_WORKFLOWS


def _file_mb(path) -> float:
    """A SQLite database with its write-ahead log or rollback journal."""
    names = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]
    return sum(name.stat().st_size for name in names if name.exists()) / 2**20


async def _phase(
    stack: BenchStack,
    clock: ProcessClock,
    arrivals: Arrivals,
    name: str,
    rate: float,
    minutes: float,
    *,
    grace: float,
    settle: bool = True,
    until: asyncio.Event | None = None,
) -> Phase:
    """`settle`: wait for every case of the phase (its owner notified, its first escalations due) before the
    figures; the peak does not, so its backlog spills into the drain as it would in a city."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    before = clock.read()
    await arrivals.schedule(rate, round(rate * minutes * 60), until)
    if settle:
        await arrivals.finished()
        if arrivals.climbing:
            await asyncio.sleep(grace)
    seconds = loop.time() - began
    cases = len(arrivals.cases)
    return Phase(
        name=name,
        rate=rate,
        seconds=round(seconds, 1),
        cases=cases,
        cpu=clock.since(before, cases),
        arrivals_behind_seconds=round(arrivals.behind, 3),
        memory_mb=clock.memory_mb(),
        **await _outcomes(stack, arrivals),
    )


async def _outcomes(stack: BenchStack, arrivals: Arrivals) -> dict:
    """What the phase's cases saw, as far as they have got."""
    lateness = [row["lateness"] for row in await breaches(stack.pool, arrivals.climbing)]
    return {
        "climbing": len(arrivals.climbing),
        "intake": Latency.of(arrivals.intake),
        "owner_notified": Latency.of(arrivals.owner_notified),
        "lateness": Latency.of(lateness),
        "escalations_late": sum(late >= LATE for late in lateness),
    }


class _Drain:
    """After the peak: the backlog empties (every peak case's owner notified, no workflow task waiting), then a
    deadline of a case that arrived since fires within LATE: only then is the stack back to normal."""

    def __init__(self, stack: BenchStack, task_queue: str, peak: Arrivals, arrivals: Arrivals) -> None:
        self.stack, self.task_queue, self.peak, self.arrivals = stack, task_queue, peak, arrivals
        self.backlog_seconds: float | None = None
        self.drained = asyncio.Event()

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        while True:  # polled: neither the read model nor the task queue says when it empties
            if not self.peak.pending and not await _backlog(self.stack, self.task_queue):
                break
            await asyncio.sleep(_POLL_SECONDS)
        self.backlog_seconds = loop.time() - began
        emptied = datetime.now(UTC)
        while True:  # polled: the outbox says when a breach's notice arrived
            if await self._on_time_since(emptied):
                break
            await asyncio.sleep(_POLL_SECONDS)
        self.drained.set()

    async def _on_time_since(self, moment: datetime) -> bool:
        rows = await breaches(self.stack.pool, self.arrivals.climbing)
        return any(row["due"] >= moment and row["lateness"] < LATE for row in rows)


async def _backlog(stack: BenchStack, task_queue: str) -> int:
    described = await stack.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=stack.client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            report_stats=True,
        )
    )
    return described.stats.approximate_backlog_count


async def _recovered(stack: BenchStack, climbing: list[str], since: datetime) -> float:
    """Seconds from `since` to the deadline of the last breach that fired LATE or later after it."""
    late = [row["due"] for row in await breaches(stack.pool, climbing) if row["lateness"] >= LATE]
    after = [due for due in late if due >= since]
    return round((max(after) - since).total_seconds(), 1) if after else 0.0
