"""The run as a table: every figure, its target and whether the run met it."""

from rich.console import Console
from rich.table import Table

from bench.results import BenchRun, Latency

INTAKE_TARGET = 0.8  # x floor
LIFECYCLE_TARGET = 0.5  # x floor
LATENESS_TARGET = 1.0  # seconds, p99
QUERY_TARGET = 0.050  # seconds, p99


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def latency_text(latency: Latency) -> str:
    return f"p50 {_ms(latency.p50)} · p99 {_ms(latency.p99)} · max {_ms(latency.max)}"


def verdict(value: float, target: float, *, at_least: bool) -> str:
    met = value >= target if at_least else value <= target
    if met:
        return "[green]met[/green]"
    missing = (target - value) / target if at_least else (value - target) / target
    return f"[red]missed by {missing:.0%}[/red]"


def table(run: BenchRun) -> Table:
    mode = "quick" if run.quick else "full"
    title = (
        f"whistle bench ({mode}: N={run.cases}, {run.concurrency} concurrent clients, {run.machine.cpus} CPUs, "
        f"load {run.machine.load_before[0]:.1f} → {run.machine.load_after[0]:.1f}, {run.total_seconds:.0f} s)"
    )
    result = Table(title=title, title_justify="left")
    for column in ("figure", "measure", "value", "target"):
        result.add_column(column)
    floor, intake, life, precise, cost = run.floor, run.intake, run.lifecycle, run.precision, run.cost
    result.add_row("1 floor", "workflows/s (1 no-op activity)", f"{floor.per_second:.1f}", "")
    result.add_row("", "start → complete", latency_text(floor.latency), "")
    result.add_row(
        "2 intake",
        "cases/s, ratio to floor",
        f"{intake.per_second:.1f} ({intake.ratio_to_floor:.2f}x)",
        f">= {INTAKE_TARGET}x " + verdict(intake.ratio_to_floor, INTAKE_TARGET, at_least=True),
    )
    result.add_row("", "report → visible in `cases`", latency_text(intake.latency), "")
    result.add_row(
        "3 lifecycle",
        "completed cases/s, ratio to floor",
        f"{life.per_second:.1f} ({life.ratio_to_floor:.2f}x)",
        f">= {LIFECYCLE_TARGET}x " + verdict(life.ratio_to_floor, LIFECYCLE_TARGET, at_least=True),
    )
    result.add_row(
        "",
        f"resolved path ({life.resolved.completed}/{life.resolved.cases}; {life.update_timeouts} update timeouts)",
        latency_text(life.resolved.latency),
        "",
    )
    result.add_row(
        "", f"climbed path ({life.climbed.completed}/{life.climbed.cases})", latency_text(life.climbed.latency), ""
    )
    result.add_row(
        "4 escalation",
        f"lateness of {precise.breaches} automatic escalations (peak {precise.peak_in_flight} in flight)",
        latency_text(precise.lateness),
        f"p99 <= {LATENESS_TARGET:.0f} s " + verdict(precise.lateness.p99, LATENESS_TARGET, at_least=False),
    )
    for name, path in (
        ("floor", cost.floor),
        ("intake", cost.intake),
        ("resolved", cost.resolved),
        ("climbed", cost.climbed),
    ):
        result.add_row(
            "5 cost" if name == "floor" else "",
            f"{name}: per case ({path.workflows:g} workflows)",
            f"{path.history_events:.0f} events · {path.history_bytes / 1024:.1f} KiB history · "
            f"{path.payload_bytes / 1024:.1f} KiB payloads",
            "",
        )
    for phase, cpu in cost.cpu_per_1000.items():
        result.add_row(
            "",
            f"{phase}: worker per 1,000",
            f"{cpu:.1f} CPU s · peak RSS {cost.rss_peak_mb[phase]:.0f} MB "
            f"(+{cost.rss_growth_per_1000_mb[phase]:.0f} MB)",
            "",
        )
    queries = run.queries
    if queries.pending:
        result.add_row("6 queries", f"{queries.rows:,} cases", f"[yellow]pending: {queries.pending}[/yellow]", "")
    for number, (name, latency) in enumerate(queries.latency.items()):
        result.add_row(
            "6 queries" if number == 0 else "",
            f"{name} ({queries.rows:,} cases)",
            latency_text(latency),
            f"p99 <= {QUERY_TARGET * 1000:.0f} ms " + verdict(latency.p99, QUERY_TARGET, at_least=False),
        )
    return result


def show(run: BenchRun, console: Console | None = None) -> None:
    console = console or Console()
    if not console.is_terminal:  # piped or captured: no terminal width to wrap the table to
        console.width = 160
    console.print(table(run))
