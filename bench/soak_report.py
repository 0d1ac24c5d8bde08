"""The soak as tables: the load (rate, disk, memory per cached case), then each phase's figures."""

from rich.console import Console
from rich.table import Table

from bench.report import LATENESS_TARGET, latency_text, verdict
from bench.results import PROCESSES
from bench.soak import SoakRun
from bench.steady_report import MEMORY_TARGET_KB

DRAIN_TARGET_SECONDS = 600.0  # a 5-minute peak drained within 10 minutes


def load_table(run: SoakRun) -> Table:
    load = run.load
    result = Table(
        title=f"whistle bench --soak: loading {load.cases:,} open cases ({run.machine.cpus} CPUs, load "
        f"{run.machine.load_before[0]:.1f} → {run.machine.load_after[0]:.1f}, {run.total_seconds:.0f} s in all)",
        title_justify="left",
    )
    for column in ("measure", "value", "target"):
        result.add_column(column)
    result.add_row("load time / rate", f"{load.seconds:.0f} s · {load.per_second:.1f} cases/s", "")
    result.add_row("report call under the loader", latency_text(load.intake), "")
    result.add_row("disk: Temporal SQLite / PostgreSQL", f"{load.temporal_mb:.0f} MB / {load.postgres_mb:.0f} MB", "")
    result.add_row(
        "worker memory per cached open case",
        f"{load.worker_kb_per_cached_case:.0f} KB (RSS {load.worker_rss_before_mb:.0f} → "
        f"{load.worker_rss_after_mb:.0f} MB)",
        f"<= {MEMORY_TARGET_KB:g} KB " + verdict(load.worker_kb_per_cached_case, MEMORY_TARGET_KB, at_least=False),
    )
    return result


def phase_table(run: SoakRun) -> Table:
    result = Table(title="phases", title_justify="left")
    columns = ("phase", "cases", "report call", "→ owner notified", "escalation lateness", "CPU per case", "RSS MB")
    for column in columns:
        result.add_column(column)
    for phase in run.phases:
        result.add_row(
            f"{phase.name} {phase.rate:g}/s, {phase.seconds:.0f} s",
            f"{phase.cases} ({phase.climbing} climbing)",
            latency_text(phase.intake),
            latency_text(phase.owner_notified),
            f"{latency_text(phase.lateness)} ({phase.lateness.count}; {phase.escalations_late} ≥ 1 s) p99 "
            + verdict(phase.lateness.p99, LATENESS_TARGET, at_least=False),
            " · ".join(f"{name} {phase.cpu.per_item_ms[name]:.0f}" for name in PROCESSES) + " ms",
            " · ".join(f"{name} {size:.0f}" for name, size in phase.memory_mb.items()),
        )
    return result


def show(run: SoakRun, console: Console | None = None) -> None:
    console = console or Console()
    if not console.is_terminal:
        console.width = 200
    console.print(load_table(run))
    console.print(phase_table(run))
    drained = f"{run.drain_seconds:.0f} s" if run.drained else f"not within {run.drain_seconds:.0f} s"
    console.print(
        f"backlog after the peak drained: {drained} (target ≤ {DRAIN_TARGET_SECONDS:.0f} s "
        + verdict(run.drain_seconds if run.drained else float("inf"), DRAIN_TARGET_SECONDS, at_least=False)
        + f"); lateness back under 1 s {run.lateness_recovered_seconds:.0f} s after the peak"
    )
