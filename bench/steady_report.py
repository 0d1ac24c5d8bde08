"""The steady-state run as a table: CPU per case for every process beside the floor's, lateness, memory."""

from rich.console import Console
from rich.table import Table

from bench.report import LATENESS_TARGET, latency_text, verdict
from bench.results import PROCESSES, SteadyRun

CPU_TARGET = 3.0  # a case's CPU (all processes) per floor workflow's, for a resolved case
NOTIFIED_TARGET = 1.0  # seconds, p99
MEMORY_TARGET_KB = 50.0  # worker memory per cached open workflow


def table(run: SteadyRun) -> Table:
    title = (
        f"whistle bench --steady {run.rate:g} --minutes {run.minutes:g} ({run.cases} cases, every "
        f"{run.cases // max(run.climbing, 1)}th climbing; worker caches {run.cached_workflows} of "
        f"{run.open_workflows} open workflows; {run.machine.cpus} CPUs, load {run.machine.load_before[0]:.1f} → "
        f"{run.machine.load_after[0]:.1f}, {run.total_seconds:.0f} s)"
    )
    result = Table(title=title, title_justify="left")
    for column in ("measure", "value", "target"):
        result.add_column(column)
    floor, steady = run.floor, run.steady
    for process in (*PROCESSES, "all"):
        spent = steady.total_ms if process == "all" else steady.per_item_ms[process]
        floor_spent = floor.total_ms if process == "all" else floor.per_item_ms[process]
        ratio = spent / floor_spent if floor_spent else 0.0
        result.add_row(
            f"CPU per case: {process} (floor per workflow)",
            f"{spent:.1f} ms ({floor_spent:.1f} ms): {ratio:.1f}x",
            f"<= {CPU_TARGET:g}x " + verdict(ratio, CPU_TARGET, at_least=False) if process == "all" else "",
        )
    result.add_row("report call (intake)", latency_text(run.intake), "")
    result.add_row(
        "report → owner notified (outbox)",
        latency_text(run.owner_notified),
        f"p99 <= {NOTIFIED_TARGET:g} s " + verdict(run.owner_notified.p99, NOTIFIED_TARGET, at_least=False),
    )
    result.add_row(
        f"escalation lateness ({run.lateness.count} breaches, {run.escalations} escalations)",
        latency_text(run.lateness),
        f"p99 <= {LATENESS_TARGET:g} s " + verdict(run.lateness.p99, LATENESS_TARGET, at_least=False),
    )
    result.add_row(
        "worker memory per cached workflow",
        f"{run.worker_kb_per_cached_workflow:.0f} KB (RSS {run.worker.rss_start_mb:.0f} → "
        f"{run.worker.rss_peak_mb:.0f} MB)",
        f"<= {MEMORY_TARGET_KB:g} KB " + verdict(run.worker_kb_per_cached_workflow, MEMORY_TARGET_KB, at_least=False),
    )
    result.add_row("arrivals behind schedule, worst", f"{run.arrivals_behind_seconds * 1000:.0f} ms", "")
    return result


def show(run: SteadyRun, console: Console | None = None) -> None:
    console = console or Console()
    if not console.is_terminal:
        console.width = 160
    console.print(table(run))
