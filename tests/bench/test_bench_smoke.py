"""`whistle bench --quick` end to end with a handful of cases: every figure is measured and saved."""

import asyncio
import subprocess
import sys
from pathlib import Path

from bench import soak
from bench.results import BenchRun, SteadyRun
from bench.soak import SoakPlan

WHISTLE = Path(sys.executable).parent / "whistle"
CASES = 3


def test_quick_bench_measures_every_figure(tmp_path):
    output = tmp_path / "run.json"
    finished = subprocess.run(
        [
            str(WHISTLE),
            "bench",
            "--quick",
            "--cases",
            str(CASES),
            "--concurrency",
            "4",
            "--rows",
            "100",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=600,  # generous: a busy 2-core machine; the figures, not the time, are what is checked
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "escalation" in finished.stdout and str(output) in finished.stdout

    run = BenchRun.model_validate_json(output.read_text())
    assert run.floor.latency.count == CASES and run.floor.per_second > 0
    assert run.intake.latency.count == CASES and 0 < run.intake.ratio_to_floor
    assert run.lifecycle.resolved.completed == CASES and run.lifecycle.climbed.completed == CASES
    # every climbed case escalated automatically COUNCIL -> COMMUNITY -> STREET -> DISTRICT, each after a breach
    assert run.precision.escalations == run.precision.breaches == 3 * CASES
    assert run.precision.lateness.p50 >= 0
    assert run.cost.climbed.workflows == 3  # the case and its two departments' tasks
    assert run.cost.floor.history_events < run.cost.intake.history_events < run.cost.resolved.history_events
    assert run.cost.resolved.payload_bytes > 0 and all(cpu > 0 for cpu in run.cost.cpu_per_1000.values())
    assert run.queries.pending or run.queries.latency


def test_steady_bench_measures_every_process(tmp_path):
    output = tmp_path / "steady.json"
    finished = subprocess.run(
        [str(WHISTLE), "bench", "--steady", "1", "--minutes", "0.1", "--cached", "2", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    run = SteadyRun.model_validate_json(output.read_text())
    assert run.cases == 6 and run.climbing == 1 and run.intake.count == run.owner_notified.count == 6
    # more workflows stay open than the worker caches: the 5 cases on the default policy at least
    assert run.open_workflows >= 5 > run.cached_workflows
    for stage in (run.floor, run.steady):
        assert set(stage.per_item_ms) == {"server", "worker", "postgres", "clients"}
        assert stage.per_item_ms["server"] > 0 and stage.per_item_ms["worker"] > 0
    assert run.escalations == run.lateness.count >= 1  # the climbing case left COUNCIL on its 4-second budget


def test_soak_loads_open_cases_and_measures_each_phase():
    """`whistle bench --soak` at a tiny scale: open cases loaded with their SLA timers pending, then the phases."""
    plan = SoakPlan(
        open_cases=20,
        concurrency=10,
        steady_rate=1.0,
        minutes_steady=0.05,
        peak_rate=4.0,
        minutes_peak=0.05,
        minutes_drain=0.2,
        grace_seconds=6.0,  # a climbing case's first 4-second budget runs out within its phase
    )
    run = asyncio.run(soak.run(plan, "smoke"))

    assert run.load.cases == 20 and run.load.per_second > 0 and run.load.temporal_mb > 0 and run.load.postgres_mb > 0
    assert run.load.worker_rss_after_mb > run.load.worker_rss_before_mb
    steady, peak, drain = run.phases
    assert (steady.cases, peak.cases) == (3, 12) and steady.climbing >= 1 and peak.climbing >= 1
    assert peak.intake.count == peak.owner_notified.count == 12  # the peak's figures wait for all its cases
    # lateness is real: the breach's notice reached the outbox after its deadline (never 0 by construction)
    assert steady.lateness.count >= 1 and steady.lateness.p50 > 0
    assert run.drained and drain.cases <= round(plan.steady_rate * plan.minutes_drain * 60)
    for phase in run.phases:
        assert set(phase.memory_mb) == {"server", "worker", "postgres", "clients"}
        assert all(size > 0 for size in phase.memory_mb.values())
