"""One bench run: start the stack and the measured worker, run the six figures in order, return the results."""

import asyncio
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from bench import cost, lifecycle, precision, queries, throughput
from bench.results import BenchRun, Cost, Floor, Intake, Latency, Lifecycle, Machine, PathRun, Precision, SteadyRun
from bench.stack import bench_stack, climb_wait
from bench.watch import ReadModelWatcher
from bench.worker_process import MeasuredWorker, WorkerConfig
from client.cases import workflow_id
from workflows.case import task_workflow_id

RESULTS = Path(__file__).parent / "results"
_COST_SAMPLE = 50


class BenchOptions(BaseModel):
    quick: bool = False
    cases: int = 1000  # N per figure and per lifecycle path
    concurrency: int = 100  # client calls in progress at once
    rows: int = 1_000_000  # read model size for the query figure
    worker_options: dict[str, int] = {}
    label: str | None = None

    @classmethod
    def for_mode(cls, quick: bool, **overrides) -> "BenchOptions":
        defaults = {"quick": quick, "cases": 100, "rows": 100_000} if quick else {"quick": quick}
        return cls(**{**defaults, **{key: value for key, value in overrides.items() if value is not None}})


def _ratio(value: float, floor: float) -> float:
    return round(value / floor, 3) if floor else 0.0


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


async def run(options: BenchOptions) -> BenchRun:
    started_at = datetime.now(UTC)
    loop = asyncio.get_running_loop()
    began = loop.time()
    load_before = list(os.getloadavg())
    n, concurrency = options.cases, options.concurrency
    async with bench_stack() as stack:
        run_id = uuid.uuid4().hex[:8]
        config = WorkerConfig(
            temporal_address=stack.temporal_address,
            database_url=stack.database_url,
            task_queue=f"bench-whistle-{run_id}",
            floor_task_queue=f"bench-floor-{run_id}",
            options=options.worker_options,
        )
        async with MeasuredWorker(config, stack.work_dir / "worker.log") as worker:
            # 1. floor
            latencies, seconds, floor_ids = await throughput.floor(
                stack.client, config.floor_task_queue, n, concurrency
            )
            floor = Floor(
                workflows=n,
                seconds=round(seconds, 2),
                per_second=_rate(n, seconds),
                latency=Latency.of(latencies),
                worker=worker.end_phase(),
            )
            # 2. intake
            latencies, seconds, intake_ids = await throughput.intake(
                stack.client, stack.pool, config.task_queue, n, concurrency
            )
            rate = _rate(n, seconds)
            intake = Intake(
                cases=n,
                seconds=round(seconds, 2),
                per_second=rate,
                latency=Latency.of(latencies),
                ratio_to_floor=_ratio(rate, floor.per_second),
                worker=worker.end_phase(),
            )
            # 3. lifecycle, both paths at once
            async with ReadModelWatcher(stack.pool) as watcher:
                driver = lifecycle.LifecycleDriver(stack.client, stack.pool, watcher, config.task_queue, concurrency)
                phase_began = loop.time()
                resolved, climbed = await asyncio.gather(
                    asyncio.gather(*(driver.resolved(number) for number in range(n))),
                    asyncio.gather(*(driver.climbed(n + number) for number in range(n))),
                )
                seconds = loop.time() - phase_began
            completed = [s for s in resolved + climbed if s is not None]
            wait = climb_wait().total_seconds()
            rate = _rate(len(completed), seconds - wait)
            life = Lifecycle(
                resolved=PathRun(
                    cases=n,
                    completed=sum(s is not None for s in resolved),
                    latency=Latency.of([s for s in resolved if s is not None]),
                ),
                climbed=PathRun(
                    cases=n,
                    completed=sum(s is not None for s in climbed),
                    latency=Latency.of([s for s in climbed if s is not None]),
                ),
                seconds=round(seconds, 2),
                sla_wait_seconds=wait,
                per_second=rate,
                ratio_to_floor=_ratio(rate, floor.per_second),
                peak_in_flight=driver.peak_in_flight,
                update_timeouts=driver.update_timeouts,
                worker=worker.end_phase(),
            )
        # 4. escalation precision
        escalations, lateness = await precision.escalation_lateness(stack.pool, driver.case_ids["climbed"])
        precise = Precision(
            escalations=escalations, breaches=lateness.count, lateness=lateness, peak_in_flight=driver.peak_in_flight
        )
        # 5. cost per case
        departments = lifecycle.bench_departments()
        costs = Cost(
            floor=await cost.path_cost(stack.client, [[wid] for wid in floor_ids[:_COST_SAMPLE]]),
            intake=await cost.path_cost(stack.client, [[workflow_id(c)] for c in intake_ids[:_COST_SAMPLE]]),
            resolved=await cost.path_cost(
                stack.client, [[workflow_id(c)] for c in driver.case_ids["resolved"][:_COST_SAMPLE]]
            ),
            climbed=await cost.path_cost(
                stack.client,
                [
                    [workflow_id(c), *(task_workflow_id(c, d) for d in departments)]
                    for c in driver.case_ids["climbed"][:_COST_SAMPLE]
                ],
            ),
            cpu_per_1000={
                "floor": round(floor.worker.cpu_per_1000(n), 2),
                "intake": round(intake.worker.cpu_per_1000(n), 2),
                "lifecycle": round(life.worker.cpu_per_1000(2 * n), 2),
            },
            rss_peak_mb={
                "floor": floor.worker.rss_peak_mb,
                "intake": intake.worker.rss_peak_mb,
                "lifecycle": life.worker.rss_peak_mb,
            },
            rss_growth_per_1000_mb={
                "floor": round(floor.worker.rss_growth_per_1000(n), 1),
                "intake": round(intake.worker.rss_growth_per_1000(n), 1),
                "lifecycle": round(life.worker.rss_growth_per_1000(2 * n), 1),
            },
        )
        # 6. read model queries at scale
        read_model = await queries.read_model_queries(stack, options.rows)
    return BenchRun(
        started_at=started_at,
        quick=options.quick,
        cases=n,
        concurrency=concurrency,
        worker_options=options.worker_options,
        label=options.label,
        machine=Machine(cpus=os.cpu_count() or 0, load_before=load_before, load_after=list(os.getloadavg())),
        floor=floor,
        intake=intake,
        lifecycle=life,
        precision=precise,
        cost=costs,
        queries=read_model,
        total_seconds=round(loop.time() - began, 1),
    )


def save(result: BenchRun | SteadyRun, output: Path | None = None) -> Path:
    path = output or RESULTS / f"{result.started_at:%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.model_dump_json(indent=2) + "\n")
    return path
