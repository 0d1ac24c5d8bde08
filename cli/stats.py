"""`whistle stats`, `whistle rankings` and `whistle demo`: supervisors' figures, the red/black list and a
generator of realistic cases against the running system."""

import asyncio
import random
import uuid
from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from activities import rankings, registry, rollups
from activities.exports import case_table, csv_chunks, statistics_tables, xlsx_chunks
from activities.statistics import jurisdiction_kind, statistics
from cli.cases import OUTCOMES, run
from cli.output import console, labelled
from cli.stack import Stack
from cli.typed import typed_day
from client import cases
from client.names import name_book
from i18n.language import N_, _
from i18n.names import NameBook, name
from i18n.spans import number, percent, span
from i18n.zone import deployment_zone, local_day, local_time
from schemas.case import (
    Accept,
    Actor,
    Arrive,
    CaseReport,
    DepartmentSummons,
    Feedback,
    RequestExtension,
    Resolve,
    Signoff,
    Supervise,
    Whistle,
)
from schemas.domain import Channel, JurisdictionKind
from schemas.ranking import EntityKind, ListKind, RankingPeriod, RankingRun, RankingTable
from schemas.registry import Category
from schemas.search import CaseFilter, CaseSort
from schemas.statistics import ExportFormat, Ratio, Statistics, StatisticsQuery, StatisticsTable
from schemas.task import TaskAccept, TaskActor, TaskComplete, task_workflow_id
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow
from workflows.ranking import RankingWorkflow

log = structlog.get_logger(__name__)
DRIVE_SECONDS = 30  # a step that does not answer by then is reported, not waited for


def _ratio(ratio: Ratio | None) -> str:
    """85.0% (17/20), or – when there is nothing to measure."""
    if ratio is None or ratio.rate is None:
        return "–"
    return f"{percent(ratio.rate)} ({number(ratio.count)}/{number(ratio.of)})"


Street = Annotated[str | None, typer.Option(help=_("a street (or community, compound) code; default all"))]
Since = Annotated[
    datetime | None,
    typer.Option(parser=typed_day, metavar=_("DAY"), help=_("cases reported from this local day on, e.g. 2026-10-31")),
]
Until = Annotated[
    datetime | None,
    typer.Option(parser=typed_day, metavar=_("DAY"), help=_("cases reported before this local day, e.g. 2026-11-01")),
]
stats_app = typer.Typer(
    help=_("Supervisors' figures (as defined in docs/statistics.md) for the cases reported since a day."),
    no_args_is_help=False,
)


@stats_app.callback(invoke_without_command=True)
def stats(ctx: typer.Context, street: Street = None, since: Since = None, until: Until = None) -> None:
    if ctx.invoked_subcommand is not None:
        return

    async def command(stack: Stack) -> None:
        query = StatisticsQuery(jurisdiction=street, since=since, until=until)
        async with stack.pool.acquire() as connection:
            figures = await statistics(connection, query)
        show_statistics(figures, await name_book(stack.pool))

    run(command)


class _Exported(StrEnum):
    """What `whistle stats export` writes: a statistics table, or the case list."""

    FIGURES = "figures"
    LEVELS = "levels"
    ORGANISATIONS = "organisations"
    DEPARTMENTS = "departments"
    TREND = "trend"
    CASES = "cases"


@stats_app.command(help=_("Write a statistics table or the list of cases as CSV (UTF-8 with BOM) or Excel."))
def export(
    output: Annotated[Path, typer.Argument(help=_("the file to write (.csv or .xlsx)"), dir_okay=False)],
    table: Annotated[_Exported, typer.Option(help=_("which table; an .xlsx of statistics holds them all"))] = (
        _Exported.FIGURES
    ),
    street: Street = None,
    since: Since = None,
    until: Until = None,
) -> None:
    form = ExportFormat.XLSX if output.suffix.lower() == ".xlsx" else ExportFormat.CSV

    async def command(stack: Stack) -> None:
        names = await name_book(stack.pool)
        async with stack.pool.acquire() as connection:
            if table is _Exported.CASES:
                where = await jurisdiction_kind(connection, street)
                scope = {} if where is None or where is JurisdictionKind.DISTRICT else {where.value.lower(): street}
                cases = CaseFilter(sort=CaseSort.OLDEST, reported_from=since, reported_to=until, **scope)
                district = street if where is JurisdictionKind.DISTRICT else None
                async with connection.transaction(isolation="repeatable_read", readonly=True):
                    tables = [case_table(lambda: nullcontext(connection), cases, names, district=district)]
                    written = await _write(output, form, tables)
            else:
                query = StatisticsQuery(jurisdiction=street, since=since, until=until)
                every = statistics_tables(await statistics(connection, query), names)
                tables = list(every.values()) if form is ExportFormat.XLSX else [every[StatisticsTable(table.value)]]
                written = await _write(output, form, tables)
        console.print(_("wrote %(bytes)s bytes to %(file)s") % {"bytes": number(written), "file": str(output)})

    run(command)


async def _write(output: Path, form: ExportFormat, tables: list) -> int:
    chunks = csv_chunks(tables[0]) if form is ExportFormat.CSV else xlsx_chunks(tables)
    written = 0
    with output.open("wb") as file:  # noqa: ASYNC230 - a local file, written chunk by chunk as rows arrive
        async for chunk in chunks:
            file.write(chunk)
            written += len(chunk)
    return written


@stats_app.command(help=_("Add the cases written before the statistics roll-ups to them (resumable; safe to repeat)."))
def backfill(
    rebuild: Annotated[
        bool, typer.Option(help=_("start again from nothing (after WHISTLE_TIMEZONE changed: days are the zone's)"))
    ] = False,
) -> None:
    async def command(stack: Stack) -> None:
        async with stack.pool.acquire() as connection:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task(_("rolling up cases"), total=None)
                added = await rollups.backfill(
                    connection,
                    rebuild=rebuild,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
        console.print(_("%(cases)s cases added to the statistics roll-ups") % {"cases": number(added)})

    run(command)


def show_statistics(stats: Statistics, names: NameBook) -> None:
    told = {
        "scope": labelled(names, stats.query.jurisdiction) if stats.query.jurisdiction else _("all jurisdictions"),
        "as_of": local_time(stats.as_of),
    }
    if stats.query.since:
        title = _("Whistle statistics: %(scope)s, cases reported since %(since)s (as of %(as_of)s)") % (
            told | {"since": local_day(stats.query.since).isoformat()}
        )
    else:
        title = _("Whistle statistics: %(scope)s (as of %(as_of)s)") % told
    figures = Table(title=title)
    figures.add_column(_("figure"))
    figures.add_column(_("value"), justify="right")
    rows = [
        (_("cases reported"), number(stats.reported)),
        (_("response rate (响应率)"), _ratio(stats.rates.response)),
        (_("resolution rate (解决率)"), _ratio(stats.rates.resolution)),
        (_("satisfaction rate (满意率)"), _ratio(stats.rates.satisfaction)),
        (
            _("open / resolved / closed / withdrawn"),
            " / ".join(map(number, (stats.open, stats.resolved, stats.closed, stats.withdrawn))),
        ),
        *(
            (_("resolved at the %(level)s level") % {"level": name(level.level)}, _ratio(level.resolved))
            for level in stats.levels
        ),
        (_("whistles (吹哨): manual / automatic"), f"{number(stats.whistles)} / {number(stats.auto_escalations)}"),
        (_("cases that left the compound"), _ratio(stats.escalated_cases)),
        (_("on time, all levels"), _ratio(stats.sla)),
        *(
            (_("on time at the %(level)s level") % {"level": name(level.level)}, _ratio(level.sla))
            for level in stats.levels
        ),
        (_("on-site arrival on time"), _ratio(stats.arrival)),
        (_("satisfied at the first verdict"), _ratio(stats.first_time_satisfaction)),
        (_("mean score (1-5)"), "–" if stats.mean_score is None else number(round(stats.mean_score, 2))),
        (_("reopened (unsatisfied)"), number(stats.reopened)),
        (_("overdue now"), number(stats.overdue_now)),
        (_("supervisions (督办) / cases flagged"), f"{number(stats.supervisions)} / {number(stats.supervised_cases)}"),
        (_("department returns (退单) / overdue tasks"), f"{number(stats.returns)} / {number(stats.task_overdue)}"),
    ]
    for label, value in rows:
        figures.add_row(label, value)
    console.print(figures)
    if stats.departments:
        departments = Table(title=_("district departments"))
        for column in (
            _("department"),
            _("tasks"),
            _("reported for duty on time"),
            _("completed on time"),
            _("mean time to report for duty"),
            _("returns (退单)"),
        ):
            departments.add_column(column)
        for d in stats.departments:
            departments.add_row(
                labelled(names, d.department),
                number(d.tasks),
                _ratio(d.accepted_on_time),
                _ratio(d.completed_on_time),
                "–" if d.mean_accept_minutes is None else span(timedelta(minutes=d.mean_accept_minutes)),
                number(d.returns),
            )
        console.print(departments)


def rankings_command(
    period: Annotated[str | None, typer.Option(help=_("2026-11 or 2026-W47; default the latest ranked"))] = None,
    compute: Annotated[bool, typer.Option(help=_("run the ranking workflow for the period now"))] = False,
) -> None:
    async def command(stack: Stack) -> None:
        if compute:
            zone = deployment_zone()
            label = period or RankingPeriod.before(datetime.now(UTC), RankingRun().cadence, zone).label
            table: RankingTable | None = await stack.client.execute_workflow(
                RankingWorkflow.run,
                RankingRun(period=label, zone=zone.key),
                id=f"whistle-rankings-{label}-{uuid.uuid4().hex[:8]}",
                task_queue=stack.settings.task_queue,
            )
        else:
            if period is not None:
                RankingPeriod.days(period)
            async with stack.pool.acquire() as connection:
                table = await rankings.stored(connection, period)
        if table is None or not table.entries:
            missing = _("no rankings for %(period)s") % {"period": period} if period else _("no rankings yet")
            console.print(_("%(missing)s (run `whistle rankings --compute [--period P]`)") % {"missing": missing})
            return
        show_rankings(table, await name_book(stack.pool))

    run(command)


def show_rankings(table: RankingTable, names: NameBook) -> None:
    for kind in EntityKind:
        title = _("Red and black list (红黑榜) %(period)s: %(kind)s") % {
            "period": table.period.label,
            "kind": name(kind),
        }
        listing = Table(title=title)
        for column in (
            _("list"),
            "#",
            _("organisation"),
            _("score"),
            _("street's evaluation"),
            _("district's evaluation"),
            _("satisfaction"),
            _("cases"),
        ):
            listing.add_column(column)
        for board in ListKind:
            for entry in table.listed(kind, board):
                listing.add_row(
                    name(board),
                    str(entry.position),
                    names(entry.org),
                    number(round(entry.score, 1)),
                    "–" if entry.street_evaluation is None else number(round(entry.street_evaluation, 1)),
                    number(round(entry.district_evaluation, 1)),
                    "–" if entry.satisfaction is None else number(round(entry.satisfaction)),
                    number(entry.items),
                    style="red" if board is ListKind.RED else "bold",
                )
        console.print(listing)


# ---- the demo generator -------------------------------------------------------------------------------

# What the residents and handlers of the demo write, in the operator's language (it becomes the cases' text).
_DESCRIPTIONS = {
    "FLYING_WIRE": N_("e-bike charged from a cable out of a 3rd-floor window"),
    "SEWER_BLOCKAGE": N_("sewer overflowing by building 4"),
    "CORRIDOR_CLUTTER": N_("boxes and an old sofa block the stairwell"),
    "PARKING": N_("cars parked on the fire lane every night"),
    "LIFT_MAINTENANCE": N_("lift in building 2 stops between floors"),
    "NOISE": N_("loud music after midnight"),
    "COOKING_FUMES": N_("restaurant fumes blow into the flats"),
    "ILLEGAL_CONSTRUCTION": N_("a rooftop extension is being built"),
    "FIRE_LANE_BLOCKED": N_("fire lane blocked by a skip"),
    "HOUSE_LEAK": N_("water leaking through the ceiling"),
    "GREENERY_DESTROYED": N_("lawn dug up to grow vegetables"),
    "POULTRY": N_("chickens kept in the courtyard"),
    "ROAD_SURFACE": N_("pothole at the gate"),
    "DOWNPIPE": N_("broken downpipe floods the path"),
}
# What the generator does with each case it opened, how often, and how its summary says it.
_PLANS = {
    "council": (30, N_("solved by the compound council")),  # accept, arrive, resolve with a quorum, feedback
    "community": (15, N_("whistled to the community, which solved it")),  # feedback
    "district": (10, N_("whistled to the district departments, which solved it")),  # they complete; feedback
    "supervised": (10, N_("urged by the district centre (督办), left open")),
    "extension": (5, N_("more time asked for, awaiting a decision")),
    "left": (30, N_("left to climb on its deadlines")),  # live on the demo-fast policy
}


class _Compound:
    def __init__(self, row) -> None:
        self.code, self.community, self.street = row["code"], row["community"], row["street"]
        self.property_company, self.owners = row["property_company"], row["owners_committee"]


async def _drive(stack: Stack, plan: str, case_id: str, token: str, compound: _Compound, category: Category) -> None:
    handle = cases.case_handle(stack.client, case_id)
    company, owners = Actor(org=compound.property_company), Actor(org=compound.owners)
    community, street = Actor(org=compound.community), Actor(org=compound.street)
    satisfied = random.random() < 0.8
    feedback = Feedback(token=token, satisfied=satisfied, score=random.choice([4, 5]) if satisfied else 2)
    if plan == "council":
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=company))
        if category.needs_arrival:
            await handle.execute_update(CaseWorkflow.arrive, Arrive(actor=company))
        await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=company, summary=_("fixed on site")))
        await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=owners, agree=True))
        await handle.execute_update(CaseWorkflow.feedback, feedback)
    elif plan == "community":
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=company, reason=_("owner will not cooperate")))
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=community))
        await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=community, summary=_("mediated")))
        await handle.execute_update(CaseWorkflow.feedback, feedback)
    elif plan == "district":
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=company, reason=_("beyond the compound")))
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=community, reason=_("needs the street")))
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=street))
        routing = category.routing
        summons = DepartmentSummons(lead=routing.lead, assist=routing.assist)
        await handle.execute_update(
            CaseWorkflow.whistle, Whistle(actor=street, reason=_("summon"), departments=summons)
        )
        for department in summons.codes():
            task = stack.client.get_workflow_handle(task_workflow_id(case_id, department))
            actor = TaskActor(department=department)
            await task.execute_update(DepartmentTaskWorkflow.accept, TaskAccept(actor=actor))
            await task.execute_update(DepartmentTaskWorkflow.complete, TaskComplete(actor=actor, result=_("done")))
        view = await cases.wait_until_open(stack.client, case_id)
        if view.status == "RESOLVED":
            await handle.execute_update(CaseWorkflow.feedback, feedback)
    elif plan == "supervised":
        centre = Actor(org=await _centre(stack))
        await handle.execute_update(CaseWorkflow.supervise, Supervise(actor=centre, reason=_("residents call daily")))
    elif plan == "extension":
        view = await cases.view_case(stack.client, case_id)
        until = view.stage.deadline + (view.stage.budget * 2)
        await handle.execute_update(
            CaseWorkflow.request_extension, RequestExtension(actor=company, until=until, reason=_("parts on order"))
        )


async def _centre(stack: Stack) -> str:
    return await stack.pool.fetchval("SELECT code FROM organisations WHERE kind = 'DISTRICT_CENTRE' LIMIT 1")


def demo(
    count: Annotated[int, typer.Option("--cases", min=1, max=100_000, help=_("how many cases to report"))] = 50,
    fast_share: Annotated[
        float, typer.Option(min=0, max=1, help=_("share on the demo-fast policy (deadlines of seconds)"))
    ] = 0.3,
    seed: Annotated[int | None, typer.Option(help=_("random seed, for a repeatable mix"))] = None,
) -> None:
    random.seed(seed)

    async def command(stack: Stack) -> None:
        async with stack.pool.acquire() as connection:
            rows = await connection.fetch(
                """SELECT j.code, c.code AS community, c.parent AS street, p.property_company, p.owners_committee
                     FROM jurisdictions j JOIN jurisdictions c ON c.code = j.parent
                     JOIN compound_parties p ON p.compound = j.code
                    WHERE j.kind = 'COMPOUND' ORDER BY j.code"""
            )
            categories = await registry.categories(connection)
            # a report of an issue already open in the compound is linked to that case: spread the demo
            # over what is not open yet, so that it opens cases
            taken = {
                (row["compound"], row["category"])
                for row in await connection.fetch(
                    "SELECT compound, category FROM cases WHERE status IN ('REPORTED', 'IN_PROGRESS', 'REOPENED')"
                )
            }
        compounds = [_Compound(row) for row in rows]

        def pick() -> tuple[_Compound, Category]:
            free = [(c, k) for c in compounds for k in categories if (c.code, k.code) not in taken]
            compound, category = random.choice(free or [(c, k) for c in compounds for k in categories])
            taken.add((compound.code, category.code))
            return compound, category

        outcomes: Counter[str] = Counter()
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            reporting = progress.add_task(_("reporting cases"), total=count)
            driving = progress.add_task(_("driving cases"), total=count)
            semaphore = asyncio.Semaphore(8)

            async def one() -> None:
                async with semaphore:
                    compound, category = pick()
                    policy = "demo-fast" if random.random() < fast_share else "default"
                    report = CaseReport(
                        compound=compound.code,
                        category=category.code,
                        description=_(_DESCRIPTIONS[category.code])
                        if category.code in _DESCRIPTIONS
                        else category.name,
                        channel=random.choice([Channel.APP, Channel.APP, Channel.HOTLINE, Channel.GRID]),
                        external_id=f"DEMO-{uuid.uuid4().hex[:10]}",
                    )
                    reported = await cases.report_case(
                        stack.client, stack.pool, report, task_queue=stack.settings.task_queue, policy=policy
                    )
                    outcomes[_("reported: %(outcome)s") % {"outcome": _(OUTCOMES[reported.outcome])}] += 1
                    progress.advance(reporting)
                    if reported.outcome is cases.IntakeOutcome.CREATED and reported.token:
                        plan = random.choices(list(_PLANS), weights=[weight for weight, _said in _PLANS.values()])[0]
                        said = _(_PLANS[plan][1])
                        await cases.wait_until_open(stack.client, reported.case_id)
                        try:
                            async with asyncio.timeout(DRIVE_SECONDS):
                                await _drive(stack, plan, reported.case_id, reported.token, compound, category)
                            outcomes[said] += 1
                        except (WorkflowUpdateFailedError, RPCError):
                            outcomes[_("%(plan)s (the case moved on first)") % {"plan": said}] += 1
                        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                            log.warning("demo step timed out", case_id=reported.case_id, plan=plan)
                            outcomes[_("%(plan)s (timed out)") % {"plan": said}] += 1
                    progress.advance(driving)

            await asyncio.gather(*(one() for _case in range(count)))
        summary = Table(title=_("whistle demo: %(count)s reports") % {"count": number(count)})
        summary.add_column(_("what"))
        summary.add_column(_("cases"), justify="right")
        for what, cases_of in sorted(outcomes.items()):
            summary.add_row(what, number(cases_of))
        console.print(summary)

    run(command)
