"""`whistle stats`, `whistle rankings` and `whistle demo`: supervisors' figures, the red/black list and a
generator of realistic cases against the running system."""

import asyncio
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from activities import rankings, registry
from activities.statistics import statistics
from cli.cases import run
from cli.stack import Stack
from client import cases
from i18n.zone import deployment_zone
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
from schemas.domain import Channel
from schemas.ranking import EntityKind, ListKind, RankingPeriod, RankingRun, RankingTable
from schemas.registry import Category
from schemas.statistics import Ratio, Statistics, StatisticsQuery
from schemas.task import TaskAccept, TaskActor, TaskComplete, task_workflow_id
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow
from workflows.ranking import RankingWorkflow

console = Console()
log = structlog.get_logger(__name__)
DRIVE_SECONDS = 30  # a step that does not answer by then is reported, not waited for


def _percent(ratio: Ratio | None) -> str:
    return "–" if ratio is None or ratio.rate is None else f"{100 * ratio.rate:.1f}% ({ratio.count}/{ratio.of})"


def stats(
    street: Annotated[str | None, typer.Option(help="a street (or community, compound) code; default all")] = None,
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="cases reported from this day")] = None,
) -> None:
    """Supervisors' figures (as defined in docs/statistics.md) for the cases reported since a day."""

    async def command(stack: Stack) -> None:
        query = StatisticsQuery(jurisdiction=street, since=since.replace(tzinfo=UTC) if since else None)
        async with stack.pool.acquire() as connection:
            show_statistics(await statistics(connection, query))

    run(command)


def show_statistics(stats: Statistics) -> None:
    scope = stats.query.jurisdiction or "all jurisdictions"
    since = f" reported since {stats.query.since.date()}" if stats.query.since else ""
    figures = Table(title=f"Whistle statistics: {scope}{since} (as of {stats.as_of:%Y-%m-%d %H:%M} UTC)")
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    rows = [
        ("cases reported", stats.reported),
        (
            "open / resolved / closed / withdrawn",
            f"{stats.open} / {stats.resolved} / {stats.closed} / {stats.withdrawn}",
        ),
        *((f"resolved at {level.level}", _percent(level.resolved)) for level in stats.levels),
        ("whistles: manual / automatic", f"{stats.whistles} / {stats.auto_escalations}"),
        ("cases that left the compound", _percent(stats.escalated_cases)),
        ("SLA compliance, all levels", _percent(stats.sla)),
        *((f"SLA compliance at {level.level}", _percent(level.sla)) for level in stats.levels),
        ("on-site arrival on time", _percent(stats.arrival)),
        ("first-time satisfaction", _percent(stats.first_time_satisfaction)),
        ("mean score (1-5)", "–" if stats.mean_score is None else f"{stats.mean_score:.2f}"),
        ("reopened (unsatisfied)", stats.reopened),
        ("overdue now", stats.overdue_now),
        ("supervisions (督办) / cases flagged", f"{stats.supervisions} / {stats.supervised_cases}"),
        ("department returns / overdue tasks", f"{stats.returns} / {stats.task_overdue}"),
    ]
    for name, value in rows:
        figures.add_row(name, str(value))
    console.print(figures)
    if stats.departments:
        departments = Table(title="Departments")
        for column in ("department", "tasks", "accepted on time", "completed on time", "mean accept", "returns"):
            departments.add_column(column)
        for d in stats.departments:
            accept = "–" if d.mean_accept_minutes is None else f"{d.mean_accept_minutes:.0f} min"
            departments.add_row(
                d.department,
                str(d.tasks),
                _percent(d.accepted_on_time),
                _percent(d.completed_on_time),
                accept,
                str(d.returns),
            )
        console.print(departments)


def rankings_command(
    period: Annotated[str | None, typer.Option(help="2026-11 or 2026-W47; default the latest ranked")] = None,
    compute: Annotated[bool, typer.Option(help="run the ranking workflow for the period now")] = False,
) -> None:
    """The red/black list (红黑榜) of a period, as stored by the ranking workflow."""

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
            which = f"for {period}" if period else "yet"
            console.print(f"no rankings {which} (run `whistle rankings --compute [--period P]`)")
            return
        show_rankings(table)

    run(command)


_KIND_TITLES = {EntityKind.PROPERTY_COMPANY: "property companies 物业", EntityKind.DEPARTMENT: "departments 成员单位"}


def show_rankings(table: RankingTable) -> None:
    for kind in EntityKind:
        listing = Table(title=f"红黑榜 {table.period.label}: {_KIND_TITLES[kind]}")
        for column in ("list", "#", "organisation", "score", "street", "district", "satisfaction", "items"):
            listing.add_column(column)
        for board in ListKind:
            for entry in table.listed(kind, board):
                listing.add_row(
                    "红 RED" if board is ListKind.RED else "黑 BLACK",
                    str(entry.position),
                    entry.name or entry.org,
                    f"{entry.score:.1f}",
                    "–" if entry.street_evaluation is None else f"{entry.street_evaluation:.1f}",
                    f"{entry.district_evaluation:.1f}",
                    "–" if entry.satisfaction is None else f"{entry.satisfaction:.0f}",
                    str(entry.items),
                    style="red" if board is ListKind.RED else "bold",
                )
        console.print(listing)


# ---- the demo generator -------------------------------------------------------------------------------

_DESCRIPTIONS = {
    "FLYING_WIRE": "e-bike charged from a cable out of a 3rd-floor window",
    "SEWER_BLOCKAGE": "sewer overflowing by building 4",
    "CORRIDOR_CLUTTER": "boxes and an old sofa block the stairwell",
    "PARKING": "cars parked on the fire lane every night",
    "LIFT_MAINTENANCE": "lift in building 2 stops between floors",
    "NOISE": "loud music after midnight",
    "COOKING_FUMES": "restaurant fumes blow into the flats",
    "ILLEGAL_CONSTRUCTION": "a rooftop extension is being built",
    "FIRE_LANE_BLOCKED": "fire lane blocked by a skip",
    "HOUSE_LEAK": "water leaking through the ceiling",
    "GREENERY_DESTROYED": "lawn dug up to grow vegetables",
    "POULTRY": "chickens kept in the courtyard",
    "ROAD_SURFACE": "pothole at the gate",
    "DOWNPIPE": "broken downpipe floods the path",
}
# What the generator does with each case it opened, and how often.
_PLANS = {
    "council": 30,  # accept, arrive, resolve with a council quorum, feedback
    "community": 15,  # the council whistles; the community resolves; feedback
    "district": 10,  # whistled up to the street, which summons departments; they complete; feedback
    "supervised": 10,  # the district centre urges (督办), left open
    "extension": 5,  # the property company asks for more time; waits for a decision
    "left": 30,  # nobody acts: it climbs on its deadlines (live on the demo-fast policy)
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
        await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=company, summary="fixed on site"))
        await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=owners, agree=True))
        await handle.execute_update(CaseWorkflow.feedback, feedback)
    elif plan == "community":
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=company, reason="owner will not cooperate"))
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=community))
        await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=community, summary="mediated"))
        await handle.execute_update(CaseWorkflow.feedback, feedback)
    elif plan == "district":
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=company, reason="beyond the compound"))
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=community, reason="needs the street"))
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=street))
        routing = category.routing
        summons = DepartmentSummons(lead=routing.lead, assist=routing.assist)
        await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=street, reason="summon", departments=summons))
        for department in summons.codes():
            task = stack.client.get_workflow_handle(task_workflow_id(case_id, department))
            actor = TaskActor(department=department)
            await task.execute_update(DepartmentTaskWorkflow.accept, TaskAccept(actor=actor))
            await task.execute_update(DepartmentTaskWorkflow.complete, TaskComplete(actor=actor, result="done"))
        view = await cases.wait_until_open(stack.client, case_id)
        if view.status == "RESOLVED":
            await handle.execute_update(CaseWorkflow.feedback, feedback)
    elif plan == "supervised":
        centre = Actor(org=await _centre(stack))
        await handle.execute_update(CaseWorkflow.supervise, Supervise(actor=centre, reason="residents call daily"))
    elif plan == "extension":
        view = await cases.view_case(stack.client, case_id)
        until = view.stage.deadline + (view.stage.budget * 2)
        await handle.execute_update(
            CaseWorkflow.request_extension, RequestExtension(actor=company, until=until, reason="parts on order")
        )


async def _centre(stack: Stack) -> str:
    return await stack.pool.fetchval("SELECT code FROM organisations WHERE kind = 'DISTRICT_CENTRE' LIMIT 1")


def demo(
    count: Annotated[int, typer.Option("--cases", min=1, max=100_000, help="how many cases to report")] = 50,
    fast_share: Annotated[
        float, typer.Option(min=0, max=1, help="share on the demo-fast policy (deadlines of seconds)")
    ] = 0.3,
    seed: Annotated[int | None, typer.Option(help="random seed, for a repeatable mix")] = None,
) -> None:
    """Report realistic cases against the running `whistle dev` and drive a mix of them."""
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
            reporting = progress.add_task("reporting cases", total=count)
            driving = progress.add_task("driving cases", total=count)
            semaphore = asyncio.Semaphore(8)

            async def one() -> None:
                async with semaphore:
                    compound, category = pick()
                    policy = "demo-fast" if random.random() < fast_share else "default"
                    report = CaseReport(
                        compound=compound.code,
                        category=category.code,
                        description=_DESCRIPTIONS.get(category.code, category.name_en),
                        channel=random.choice([Channel.APP, Channel.APP, Channel.HOTLINE, Channel.GRID]),
                        external_id=f"DEMO-{uuid.uuid4().hex[:10]}",
                    )
                    reported = await cases.report_case(
                        stack.client, stack.pool, report, task_queue=stack.settings.task_queue, policy=policy
                    )
                    outcomes[f"reported: {reported.outcome.lower()}"] += 1
                    progress.advance(reporting)
                    if reported.outcome is cases.IntakeOutcome.CREATED and reported.token:
                        plan = random.choices(list(_PLANS), weights=list(_PLANS.values()))[0]
                        await cases.wait_until_open(stack.client, reported.case_id)
                        try:
                            async with asyncio.timeout(DRIVE_SECONDS):
                                await _drive(stack, plan, reported.case_id, reported.token, compound, category)
                            outcomes[f"plan: {plan}"] += 1
                        except (WorkflowUpdateFailedError, RPCError):
                            outcomes[f"plan: {plan} (the case moved on first)"] += 1
                        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                            log.warning("demo step timed out", case_id=reported.case_id, plan=plan)
                            outcomes[f"plan: {plan} (timed out)"] += 1
                    progress.advance(driving)

            await asyncio.gather(*(one() for _ in range(count)))
        summary = Table(title=f"whistle demo: {count} reports")
        summary.add_column("what")
        summary.add_column("cases", justify="right")
        for what, number in sorted(outcomes.items()):
            summary.add_row(what, str(number))
        console.print(summary)

    run(command)
