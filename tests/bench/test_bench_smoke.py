"""`whistle bench --quick` end to end with a handful of cases: every figure is measured and saved."""

import subprocess
import sys
from pathlib import Path

from bench.results import BenchRun, SteadyRun

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
