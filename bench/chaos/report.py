"""A chaos run's outcome: what was driven, which faults, what was checked, and every mismatch with examples."""

from rich.console import Console
from rich.table import Table

from bench.chaos.drivers import DriveLog
from bench.chaos.faults import FaultLog
from bench.chaos.invariants import Findings


def table(*, title: str, drive: DriveLog, faults: FaultLog, findings: Findings, phases: dict[str, float]) -> Table:
    took = ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in phases.items())
    result = Table(title=f"{title}\n{took}", title_justify="left")
    result.add_column("what")
    result.add_column("", justify="right")
    result.add_row("[bold]cases[/bold]", str(len(drive.case_ids)))
    for outcome, count in sorted(drive.outcomes.items()):
        result.add_row(f"  {outcome}", str(count))
    for step, count in sorted(drive.cut_off.items()):
        result.add_row(f"    cut off at {step}", str(count))
    for moved in drive.moved[:3]:
        result.add_row(f"    moved on: {moved}", "")
    result.add_row("[bold]faults[/bold]", str(sum(faults.counts.values())))
    for kind, count in sorted(faults.counts.items()):
        result.add_row(f"  {kind}", str(count))
    result.add_row("[bold]callers[/bold]", "")
    result.add_row("  requests cut off (retried with the same key)", str(drive.transport_errors))
    for outcome, count in sorted(drive.resumed.items()):
        result.add_row(f"    first answer after a cut-off: {outcome}", str(count))
    for status, count in sorted(drive.statuses.items()):
        result.add_row(f"  HTTP {status}", str(count))
    result.add_row("  updates retried (same update id)", str(drive.update_retries))
    result.add_row("[bold]checked[/bold]", "")
    for what, count in sorted(findings.checked.items()):
        result.add_row(f"  {what}", str(count))
    verdict = "[green]0[/green]" if not findings.total else f"[red]{findings.total}[/red]"
    result.add_row("[bold]mismatches[/bold]", verdict)
    for invariant, count in sorted(findings.counts.items()):
        result.add_row(f"  [red]{invariant}[/red]", str(count))
        for example in findings.mismatches[invariant]:
            result.add_row(f"    {example}", "")
    return result


def show(console: Console, **parts) -> None:
    console.print(table(**parts))
    for note in parts["faults"].notes:
        console.print(f"  {note}")
