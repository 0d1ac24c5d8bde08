"""The supervisors' web dashboard: server-rendered pages over the same statistics, search and case calls as
the JSON API. A supervisor signs in as a person (`/signin`, api/sessions.py); supervision (督办) and extension
decisions are plain form posts.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import URL

from activities import rankings, search
from api import calls
from api.actions import DepartmentPath
from api.auth import Principal, check_view
from api.bodies import request_id
from api.dependencies import DbPool, TemporalClient
from api.errors import ApiError, field_message
from api.pages import serve_static, templates
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
from schemas.statistics import ExportFormat, Statistics, StatisticsQuery, StatisticsTable, TrendPoint
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

PREFIX = "/dashboard"
_OPEN = [Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED]
PAGE_ROWS = 100  # a case list's page
_NOT_FILTERS = {"lang", "page", "format"}  # query parameters of a list page that are not the list's filter
_FORM_FILTERS = {"level", "street", "category", "late"}  # what a list's form chooses (case_filters.html)
DEFAULT_PERIOD = timedelta(days=30)  # the overview's default: the last 30 local days
_COUNCIL_VOTE = {EventKind.RESOLUTION_PROPOSED, EventKind.SIGNED_OFF, EventKind.OBJECTED, EventKind.PROPOSAL_FAILED}
_TASK_ECHO_WAIT = 5.0  # seconds a task's change may take to reach its case (a signal) before the page shows it

FormKey = Annotated[str | None, Form(pattern=r"^[0-9a-f]{32}$")]
router = APIRouter(prefix=PREFIX, include_in_schema=False)
serve_static(router, {"dashboard.css": "text/css", "dashboard.js": "text/javascript"})


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
    return await _page(
        request,
        pool,
        "overview.html",
        caller,
        stats=stats,
        streets=await _streets(pool, caller),
        street=street,
        since=since,
        levels=list(Level),
        org_kind=OrgKind,
        trend=_trend_points(stats.trend),
        links=figure_lists(stats, street, since),
    )


def figure_lists(stats: Statistics, street: Code | None, since: date) -> dict[str, tuple[str, int]]:
    """Each case-counting figure of the overview (a count, or a rate's numerator) with the address of the case
    list whose filter selects exactly the cases it counts: {figure: (address, count)}."""
    period = {"street": street, "reported_from": day_start(since)}
    lists: dict[str, tuple[dict, int]] = {
        "reported": (period, stats.reported),
        "response": (period | {"responded": True}, stats.rates.response.count),
        "resolution": (period | {"resolved_level": list(Level)}, stats.rates.resolution.count),
        "satisfaction": (period | {"close_reason": ["SATISFIED"]}, stats.rates.satisfaction.count),
        "open": (period | {"status": _OPEN}, stats.open),
        # overdue now counts every open case of the place late at the figures' moment, whenever reported
        "overdue": ({"street": street, "status": _OPEN, "due_before": stats.as_of}, stats.overdue_now),
        "first_time": (period | {"first_time_satisfied": True}, stats.first_time_satisfaction.count),
        "supervised": (period | {"supervised": True}, stats.supervised_cases),
    }
    for figures in stats.levels:
        lists[f"open-{figures.level}"] = (period | {"status": _OPEN, "level": [figures.level]}, figures.open_now)
        lists[f"resolved-{figures.level}"] = (period | {"resolved_level": [figures.level]}, figures.resolved.count)
    return {figure: (f"{PREFIX}/cases?{_query(CaseFilter(**given))}", n) for figure, (given, n) in lists.items()}


def _query(query: CaseFilter, **extra: str) -> str:
    """A list's filter as the query string of its page (lists as repeated parameters)."""
    given = query.model_dump(mode="json", exclude_defaults=True)
    if given.get("limit") == PAGE_ROWS:
        del given["limit"]
    return urlencode(given | extra, doseq=True)


async def _streets(pool, caller: Principal) -> list[Code]:
    """The streets of the supervisor's district (a list's choices)."""
    rows = await pool.fetch(
        "SELECT code FROM jurisdictions WHERE kind = 'STREET' AND parent = $1 ORDER BY code", caller.jurisdiction
    )
    return [row["code"] for row in rows]


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
async def export_cases(
    request: Request,
    caller: Caller,
    pool: DbPool,
    form: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.CSV,
) -> Response:
    """The cases of a list (its filter, every page) as a file."""
    try:
        query = _case_filter(request)
    except ValidationError as error:
        return await _page(request, pool, "error.html", caller, 422, error=_refusal(error))
    return await cases_download(pool, caller, query, form)


def _case_filter(request: Request, **defaults) -> CaseFilter:
    """The list's filter from its page's query string (a parameter left empty in the form is no filter)."""
    given = dict(defaults)
    for key in request.query_params.keys() - _NOT_FILTERS:
        values = [value for value in request.query_params.getlist(key) if value != ""]
        field = CaseFilter.model_fields.get(key)
        if values and field is not None and getattr(field.annotation, "__origin__", None) is list:
            given[key] = values
        elif values:
            given[key] = values[-1]
    return CaseFilter.model_validate(given)


def _refusal(error: ValidationError) -> str:
    """A list's refused filter, said in the request's language."""
    return _("; ").join(
        _("%(field)s: %(problem)s") % {"field": ".".join(map(str, e["loc"])), "problem": field_message(e)}
        for e in error.errors()
    )


async def _case_list(request: Request, caller: Principal, pool, template: str, **defaults) -> HTMLResponse:
    """A page of a case list (`PAGE_ROWS` rows unless `limit` says), with its count, who is late on each case,
    the link to the next page and the list as a file."""
    try:
        query = _case_filter(request, limit=PAGE_ROWS, **defaults)
    except ValidationError as error:
        return await _page(request, pool, "error.html", caller, 422, error=_refusal(error))
    district = caller.jurisdiction
    found = await search.search_cases(pool, query, district=district)
    total = await search.count_cases(pool, query, district=district)
    number = int(page) if (page := request.query_params.get("page", "1")).isdigit() and int(page) > 0 else 1
    shown = query.model_copy(update={"after": None})
    following = found.next_cursor and query.model_copy(update={"after": found.next_cursor})
    categories = await pool.fetch("SELECT code FROM categories ORDER BY code")
    return await _page(
        request,
        pool,
        template,
        caller,
        cases=found.items,
        late=await search.late_parties(pool, [case.case_id for case in found.items]),
        late_now=await search.late_organisations(pool, district),
        total=total,
        query=query,
        page_number=number,
        pages=max(-(-total // query.limit), 1),
        first_rows=(number - 1) * query.limit,
        next_page=f"?{_query(following, page=str(number + 1))}" if following else None,
        first_page=f"?{_query(shown)}",
        download=_query(shown),
        carried=[(key, value) for key, value in parse_qsl(_query(shown)) if key not in _FORM_FILTERS],
        levels=list(Level),
        streets=await _streets(pool, caller),
        categories=[row["code"] for row in categories],
    )


@router.get("/overdue")
async def overdue(request: Request, caller: Caller, pool: DbPool) -> HTMLResponse:
    """Open cases by deadline: the late first (time late, and who is late), then the soonest due (time left)."""
    return await _case_list(request, caller, pool, "overdue.html", status=_OPEN, sort=CaseSort.DEADLINE)


@router.get("/cases")
async def case_list(request: Request, caller: Caller, pool: DbPool) -> HTMLResponse:
    """The cases behind a figure of the overview, or any list of the district's cases (the filter in the query)."""
    return await _case_list(request, caller, pool, "cases.html")


@router.get("/returns")
async def returns(
    request: Request, caller: Caller, pool: DbPool, street: Annotated[str | None, Query(max_length=40)] = None
) -> HTMLResponse:
    """Departments' returns (退单) waiting for the street office to reroute or conclude, oldest first."""
    waiting = await search.returns_awaiting(pool, caller.jurisdiction, street=street or None)
    return await _page(
        request, pool, "returns.html", caller, returns=waiting, street=street, streets=await _streets(pool, caller)
    )


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
