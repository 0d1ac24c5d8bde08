"""The supervisors' web dashboard: server-rendered pages over the same statistics, search and case calls as
the JSON API. A supervisor signs in as a person (`/signin`, api/sessions.py); supervision (督办) and extension
decisions are plain form posts.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.datastructures import URL

from activities import rankings, search
from api import access, calls
from api.actions import DepartmentPath
from api.auth import Principal, check_view
from api.bodies import request_id
from api.dependencies import DbPool, TemporalClient
from api.errors import ApiError
from api.pages import templates
from api.sessions import signed_in_with
from api.statistics import cases_download, district_statistics, statistics_download
from client.names import name_book
from i18n.language import _
from i18n.names import NameBook
from i18n.spans import percent
from i18n.timeline import narrate
from i18n.zone import day_start, local_day
from schemas.case import CaseId, CaseView, DecideExtension, EventKind, Supervise, SuperviseAction
from schemas.domain import Code, Level, OrgKind, Status
from schemas.keys import Right
from schemas.ranking import EntityKind, ListKind
from schemas.search import CaseFilter, CaseSort
from schemas.statistics import ExportFormat, StatisticsQuery, StatisticsTable, TrendPoint
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

PREFIX = "/dashboard"
_STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
_OPEN = [Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED]
DEFAULT_PERIOD = timedelta(days=30)  # the overview's default: the last 30 local days
_COUNCIL_VOTE = {EventKind.RESOLUTION_PROPOSED, EventKind.SIGNED_OFF, EventKind.OBJECTED, EventKind.PROPOSAL_FAILED}
_TASK_ECHO_WAIT = 5.0  # seconds a task's change may take to reach its case (a signal) before the page shows it

_HERE = Path(__file__).parent
FormKey = Annotated[str | None, Form(pattern=r"^[0-9a-f]{32}$")]
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _trend_points(trend: list[TrendPoint], width: int = 600, height: int = 160) -> list[tuple[float, float, str]]:
    """SVG coordinates of the SLA compliance line: x by day, y = compliance (top = 100 %)."""
    measured = [point for point in trend if point.sla.rate is not None]
    step = width / max(len(measured) - 1, 1)
    return [
        (
            round(i * step if len(measured) > 1 else width / 2, 1),
            round(height - height * point.sla.rate, 1),
            f"{point.day}: {percent(point.sla.rate)}",
        )
        for i, point in enumerate(measured)
    ]


Caller = Annotated[Principal, Depends(signed_in_with(Right.SUPERVISE))]


async def _page(
    request: Request,
    pool: DbPool,
    name: str,
    caller: Principal | None,
    status_code: int = 200,
    here: URL | None = None,
    **context,
) -> HTMLResponse:
    """A page in the request's language, naming what it shows (`names`); `here` is the address its language
    switch reloads (the page's own, unless it answers a form post)."""
    return templates.TemplateResponse(
        request,
        name,
        {
            "caller": caller,
            "now": datetime.now(UTC),
            "names": await name_book(pool),
            "here": (here or request.url).remove_query_params("lang"),
            **context,
        },
        status_code=status_code,
    )


@router.get("/")
async def overview(
    request: Request,
    caller: Caller,
    pool: DbPool,
    street: Annotated[Code | None, Query()] = None,
    since: Annotated[date | None, Query()] = None,
) -> HTMLResponse:
    """The district's figures for cases reported since a local day (30 local days ago unless chosen)."""
    since = since or _default_since()
    query = StatisticsQuery(jurisdiction=street, since=day_start(since))
    stats = await district_statistics(pool, caller, query)
    async with pool.acquire() as connection:
        streets = await connection.fetch(
            "SELECT code FROM jurisdictions WHERE kind = 'STREET' AND parent = $1 ORDER BY code", caller.jurisdiction
        )
    return await _page(
        request,
        pool,
        "overview.html",
        caller,
        stats=stats,
        streets=[row["code"] for row in streets],
        street=street,
        since=since,
        levels=list(Level),
        org_kind=OrgKind,
        trend=_trend_points(stats.trend),
    )


def _default_since() -> date:
    return local_day(datetime.now(UTC)) - DEFAULT_PERIOD


@router.get("/export/statistics")
async def export_statistics(
    caller: Caller,
    pool: DbPool,
    street: Annotated[Code | None, Query()] = None,
    since: Annotated[date | None, Query()] = None,
    form: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.CSV,
    table: Annotated[StatisticsTable, Query()] = StatisticsTable.FIGURES,
) -> StreamingResponse:
    """The overview's figures as a file (the same period and street as the page)."""
    query = StatisticsQuery(jurisdiction=street, since=day_start(since or _default_since()))
    return await statistics_download(pool, caller, query, form, table)


@router.get("/export/cases")
async def export_open_cases(
    caller: Caller, pool: DbPool, form: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.CSV
) -> StreamingResponse:
    """Every open case by deadline (the deadlines page's list, without its limit) as a file."""
    return await cases_download(pool, caller, CaseFilter(status=_OPEN, sort=CaseSort.DEADLINE), form)


@router.get("/overdue")
async def overdue(request: Request, caller: Caller, pool: DbPool) -> HTMLResponse:
    """Open cases by deadline: the late first (time late), then the soonest due (time left)."""
    page = await search.search_cases(
        pool, CaseFilter(status=_OPEN, sort=CaseSort.DEADLINE, limit=100), district=caller.jurisdiction
    )
    return await _page(request, pool, "overdue.html", caller, cases=page.items)


@router.get("/cases/{case_id}")
async def case_page(
    request: Request,
    case_id: CaseId,
    caller: Caller,
    client: TemporalClient,
    pool: DbPool,
    done: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    try:
        view = await calls.case_view(client, pool, case_id)
        check_view(caller, view)
    except ApiError as error:
        return await _page(request, pool, "error.html", caller, error.status_code, error=error.message)
    names = await name_book(pool)
    return await _case_page(request, pool, caller, view, notice=_notice(done, names))


def _notice(done: str | None, names: NameBook) -> str | None:
    """What the page confirms after an action redirected to it with `done` (see `_act`)."""
    if done == "supervised":
        return _("Supervision recorded.")
    if done == "decided":
        return _("The extension request is decided.")
    if done and done.startswith("decided "):
        return _("The extension request of %(department)s is decided.") % {"department": names(done.split(" ", 1)[1])}
    return None


async def _case_page(
    request: Request, pool, caller: Principal, view: CaseView, status_code: int = 200, **context
) -> HTMLResponse:
    """The case page; its forms carry a fresh key, so submitting one twice (a double click, a resubmission)
    acts once."""
    names = await name_book(pool)
    lines = narrate(view.timeline, names)
    kinds = {event.seq: event.kind for event in view.timeline}
    return await _page(
        request,
        pool,
        "case.html",
        caller,
        status_code,
        here=request.url_for("case_page", case_id=view.case_id),
        case=view,
        lines=lines,
        council_lines=[line for line in lines if kinds[line.seqs[0]] in _COUNCIL_VOTE],
        actions=list(SuperviseAction),
        form_key=uuid.uuid4().hex,
        **context,
    )


async def _act(
    request: Request,
    caller: Principal,
    client,
    pool,
    case_id: str,
    done: str,
    form_key: str | None,
    perform: Callable[[str], Awaitable[object]],
) -> Response:
    """Run `perform` (given the form's request id) and go back to the case page, or show why it was refused."""
    check_view(caller, await calls.case_view(client, pool, case_id))  # before the refusal page shows the case
    try:
        await perform(request_id(caller.org, done, form_key))
    except ApiError as error:
        view = await calls.case_view(client, pool, case_id)
        return await _case_page(request, pool, caller, view, error.status_code, error=error.message)
    return RedirectResponse(f"{PREFIX}/cases/{case_id}?done={done}", status_code=303)


@router.post("/cases/{case_id}/supervise")
async def supervise(
    request: Request,
    case_id: CaseId,
    caller: Caller,
    client: TemporalClient,
    pool: DbPool,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
    action: Annotated[SuperviseAction, Form()] = SuperviseAction.URGE,
    form_key: FormKey = None,
) -> Response:
    command = Supervise(actor=caller.actor(), action=action, reason=reason)
    return await _act(
        request,
        caller,
        client,
        pool,
        case_id,
        "supervised",
        form_key,
        lambda once: calls.case_update(client, case_id, CaseWorkflow.supervise, command, request_id=once),
    )


@router.post("/cases/{case_id}/extension")
async def decide_extension(
    request: Request,
    case_id: CaseId,
    caller: Caller,
    client: TemporalClient,
    pool: DbPool,
    approve: Annotated[bool, Form()],
    reason: Annotated[str, Form(min_length=1, max_length=500)],
    form_key: FormKey = None,
) -> Response:
    command = DecideExtension(actor=caller.actor(), approve=approve, reason=reason)
    return await _act(
        request,
        caller,
        client,
        pool,
        case_id,
        "decided",
        form_key,
        lambda once: calls.case_update(client, case_id, CaseWorkflow.decide_extension, command, request_id=once),
    )


@router.post("/cases/{case_id}/tasks/{department}/extension")
async def decide_task_extension(
    request: Request,
    case_id: CaseId,
    department: DepartmentPath,
    caller: Caller,
    client: TemporalClient,
    pool: DbPool,
    approve: Annotated[bool, Form()],
    reason: Annotated[str, Form(min_length=1, max_length=500)],
    form_key: FormKey = None,
) -> Response:
    command = DecideExtension(actor=caller.actor(), approve=approve, reason=reason)

    async def perform(once: str) -> None:
        task = await calls.task_update(
            client, case_id, department, DepartmentTaskWorkflow.decide_extension, command, request_id=once
        )
        await _task_reached_case(client, pool, case_id, department, task.version)

    return await _act(request, caller, client, pool, case_id, f"decided {department}", form_key, perform)


async def _task_reached_case(client, pool, case_id: str, department: str, version: int) -> None:
    """Wait (bounded) until the case shows the task's change, so the page after a decision shows it decided."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + _TASK_ECHO_WAIT
    while loop.time() < give_up:
        view = await calls.case_view(client, pool, case_id)
        if any(t.department == department and t.version >= version for t in view.tasks):
            return
        await asyncio.sleep(0.05)


@router.get("/rankings")
async def rankings_page(
    request: Request, caller: Caller, pool: DbPool, period: Annotated[str | None, Query(max_length=10)] = None
) -> HTMLResponse:
    async with pool.acquire() as connection:
        table = await rankings.stored(connection, period)
    return await _page(
        request,
        pool,
        "rankings.html",
        caller,
        table=table,
        period=period,
        kinds=list(EntityKind),
        boards=list(ListKind),
    )


@router.get("/static/{name}", dependencies=[access.Public])
async def static(name: str) -> Response:
    if name not in _STATIC:
        return Response(status_code=404)
    content = (_HERE / "static" / name).read_bytes()
    return Response(content, media_type=_STATIC[name], headers={"Cache-Control": "max-age=300"})
