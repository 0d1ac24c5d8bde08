"""The resident's pages, phone first: report an issue (category, where, what, photos, who), then follow the case
through a private link and give the verdict once it is resolved.

The private link carries the resident's access token in its fragment (`/resident/cases/WH-…#t=<token>`), which
browsers never send to a server nor put in a Referer: the page's script hands it over once in a POST body, and
the server keeps it in an HttpOnly, SameSite=Strict cookie scoped to that case's path. Every page is sent with
`Referrer-Policy: no-referrer`, no caching, and a content security policy that runs only the page's own script.
Everything a resident reads comes from the catalogue (Chinese by default), times on the deployment's clock.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from activities import locations, registry
from api import access, calls, photos
from api.bodies import request_id
from api.dependencies import AppSettings, DbPool, TemporalClient
from api.errors import ApiError
from api.limits import report_limit
from api.pages import serve_static, templates
from api.residents import report_for
from client.cases import IntakeOutcome
from client.names import name_book
from i18n.deadlines import budget_text
from i18n.language import _
from i18n.names import NameBook, name
from i18n.spans import span
from i18n.timeline import narrate
from i18n.zone import moment_text
from schemas.case import CaseId, CaseReport, CaseView, Feedback, ResidentRole, Withdraw
from schemas.domain import Level, Severity, Status
from schemas.policy import SlaPolicy
from schemas.registry import Category
from workflows.case import CaseWorkflow

PREFIX = "/resident"
REPORT = f"{PREFIX}/report"
COOKIE = "whistle_case"
REMEMBER_FOR = 180 * 24 * 3600  # seconds a phone keeps opening its case without the private link
_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
}
FormKey = Annotated[str | None, Form(pattern=r"^[0-9a-f]{32}$")]
router = APIRouter(prefix=PREFIX, include_in_schema=False)
serve_static(router, {"resident.css": "text/css", "resident.js": "text/javascript"})
_RESIDENT = access.declared(access.RESIDENT_PAGE)  # the case cookie, checked by each route


def _page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    response = templates.TemplateResponse(request, f"resident/{template}", context, status_code=status_code)
    response.headers.update(_HEADERS)
    return response


# ---- what a category promises, from the policy in force --------------------------------------------------


def _budget(category: Category, policy: SlaPolicy, severity: Severity | None = None) -> tuple[Severity, str]:
    severity = severity or category.default_severity
    budget = policy.budget(Level.COUNCIL, severity)
    return severity, budget_text(budget.duration, budget.clock)


def promise(category: Category, policy: SlaPolicy) -> str:
    """Under the category's name: "5分钟到场 · 30分钟处理" (the 5341 standard as the policy sets it)."""
    severity, budget = _budget(category, policy)
    text = _("plan in %(budget)s") if severity is Severity.COMPLEX else _("handled in %(budget)s")
    text %= {"budget": budget}
    if category.needs_arrival:
        return _("on site in %(arrival)s · %(text)s") % {"arrival": span(policy.arrival), "text": text}
    return text


def next_steps(category: Category, policy: SlaPolicy, severity: Severity | None = None) -> str:
    """What happens now, in plain words: "物业、业委会、社区三方将在30分钟内处理"."""
    severity, budget = _budget(category, policy, severity)
    if severity is Severity.COMPLEX:
        text = _("The property company, the owners' committee and the community present a plan within %(budget)s.")
    else:
        text = _("The property company, the owners' committee and the community will handle it within %(budget)s.")
    text %= {"budget": budget}
    if category.needs_arrival:
        return _("Someone is on site within %(arrival)s. %(text)s") % {"arrival": span(policy.arrival), "text": text}
    return text


# ---- the report form ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryChoice:
    code: str
    name: str
    promise: str
    anonymous: bool


@dataclass(frozen=True)
class CompoundChoice:
    code: str
    name: str
    label: str  # 阳光小区 · 青华社区 · 东风街道


@dataclass(frozen=True)
class Near:
    code: str
    name: str
    metres: int


class ReportForm(BaseModel):
    """What the form sent back, to show it again with the reason it was not accepted."""

    category: str = ""
    compound: str = ""
    lat: str = ""
    lon: str = ""
    description: str = ""
    name: str = ""
    phone: str = ""
    anonymous: bool = False


async def _choices(pool, settings, names: NameBook) -> tuple[list[CategoryChoice], list[CompoundChoice]]:
    async with pool.acquire() as connection:
        categories = await registry.categories(connection)
        policy = await registry.policy(connection, settings.default_policy)
        places = {j.code: j for j in await registry.jurisdictions(connection)}
    # the places' own names: a community's code is also its committee's, whose name the name book gives
    place_names = NameBook({place.code: (place.name, place.name_en) for place in places.values()})
    compounds = []
    for place in places.values():
        if place.kind == "COMPOUND":
            community = places.get(place.parent or "")
            street = places.get(community.parent or "") if community else None
            parts = [place_names(p.code) for p in (place, community, street) if p]
            compounds.append(CompoundChoice(code=place.code, name=parts[0], label=" · ".join(parts)))
    return (
        [CategoryChoice(c.code, names(c.code), promise(c, policy), c.anonymous_allowed) for c in categories],
        sorted(compounds, key=lambda c: c.code),
    )


async def _form_page(
    request: Request,
    pool,
    settings,
    form: ReportForm,
    status_code: int = 200,
    error: str | None = None,
    nearest: list[Near] | None = None,
) -> HTMLResponse:
    names = await name_book(pool)
    categories, compounds = await _choices(pool, settings, names)
    return _page(
        request,
        "report.html",
        status_code,
        form=form,
        categories=categories,
        compounds=compounds,
        nearest=nearest or [],
        error=error,
        form_key=uuid.uuid4().hex,
        most_photos=photos.MAX_PHOTOS,
        photo_bytes=photos.MAX_PHOTO_BYTES,
    )


@router.get("/", dependencies=[access.Public])
async def report_page(request: Request, pool: DbPool, settings: AppSettings) -> HTMLResponse:
    return await _form_page(request, pool, settings, ReportForm())


class Where(BaseModel):
    compound: str | None
    text: str
    nearest: list[dict] = Field(default_factory=list)


@router.get("/where", dependencies=[access.Public])
async def where(
    pool: DbPool,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> JSONResponse:
    """The compound at a location (for the page's "use my location"), else the nearest, with words to show."""
    names = await name_book(pool)
    compounds = await locations.compound_map(pool)
    found = compounds.locate(lat, lon)
    if found is not None:
        answer = Where(compound=found, text=_("You are in %(compound)s.") % {"compound": names(found)})
    else:
        nearest = [_near(names, n) for n in compounds.nearest(lat, lon)]
        answer = Where(
            compound=None,
            text=_not_in_a_compound(bool(nearest)),
            nearest=[{"code": n.code, "label": _("%(name)s · %(metres)s m") % vars(n)} for n in nearest],
        )
    return JSONResponse(answer.model_dump(), headers=_HEADERS)


def _near(names: NameBook, near: locations.Nearby) -> Near:
    return Near(code=near.compound, name=names(near.compound), metres=near.metres)


def _not_in_a_compound(any_near: bool) -> str:
    if any_near:
        return _("This place is in none of our compounds. Is it one of these nearby? Or pick it from the list.")
    return _("This place is far from our compounds: pick yours from the list.")


@router.post("/report", dependencies=[access.Public])
async def report(
    request: Request,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
    category: Annotated[str, Form(max_length=40)] = "",
    compound: Annotated[str, Form(max_length=40)] = "",
    lat: Annotated[str, Form(max_length=30)] = "",
    lon: Annotated[str, Form(max_length=30)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    reporter_name: Annotated[str, Form(alias="name", max_length=200)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    anonymous: Annotated[bool, Form()] = False,
    photo: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI's default for an absent field
    form_key: FormKey = None,
) -> Response:
    form = ReportForm(
        category=category,
        compound=compound,
        lat=lat,
        lon=lon,
        description=description,
        name=reporter_name,
        phone=phone,
        anonymous=anonymous,
    )

    async def again(error: str, status_code: int = 422, nearest: list[Near] | None = None) -> HTMLResponse:
        return await _form_page(request, pool, settings, form, status_code, error, nearest)

    names = await name_book(pool)
    async with pool.acquire() as connection:
        try:
            chosen = await registry.category(connection, category)
        except registry.UnknownReference:
            return await again(_("Choose what the problem is."))
    if anonymous and not chosen.anonymous_allowed:
        return await again(_("%(category)s needs your name and phone.") % {"category": names(chosen.code)})
    if not anonymous and not phone.strip():
        return await again(_("Leave your mobile phone number, or report anonymously where that is allowed."))
    place = await _place(pool, form)
    if isinstance(place, list):
        return await again(_not_in_a_compound(bool(place)), nearest=[_near(names, n) for n in place])
    if place is None:
        return await again(_("Say where it is: use your location, or pick your compound from the list."))
    try:
        case_report = CaseReport(
            compound=place,
            category=chosen.code,
            description=description,
            reporter={"anonymous": True} if anonymous else {"name": reporter_name.strip() or None, "phone": phone},
            location={"lat": lat, "lon": lon} if lat and lon else None,
        )
    except ValidationError as invalid:
        return await again(_invalid(invalid))
    # counted once the form is complete (a resident correcting a mistake is no abuse), before photos cost anything
    try:
        report_limit(request, case_report.reporter.phone)
    except ApiError as error:
        page = await again(error.message, error.status_code)
        page.headers.update(error.headers or {})
        return page
    try:
        kept = await photos.keep(photos.store_for(settings), [p for p in photo if p.filename])
    except photos.PhotoRefused as refused:
        return await again(refused.reason + " " + _("Choose the photos again."), 413 if refused.too_large else 422)
    base = photos.base_url(request, settings)
    case_report = CaseReport.model_validate(
        {**case_report.model_dump(), "photo_urls": [photos.photo_url(base, p.name) for p in kept]}
    )
    try:
        receipt = await report_for(client, pool, settings, case_report, None, form_key)
    except ApiError as error:
        return await again(error.message, error.status_code)
    async with pool.acquire() as connection:
        policy = await registry.policy(connection, settings.default_policy)
    response = _page(
        request,
        "reported.html",
        201 if receipt.outcome is IntakeOutcome.CREATED else 200,
        receipt=receipt,
        outcome=receipt.outcome.value,
        next_steps=next_steps(chosen, policy),
        follow_url=f"{photos.base_url(request, settings)}{_case_path(receipt.case_id)}",
        category=names(chosen.code),
        compound=names(place),
    )
    if receipt.token:
        _remember(request, response, receipt.case_id, receipt.token)
    return response


async def _place(pool, form: ReportForm) -> str | list[locations.Nearby] | None:
    """The compound picked, else the one at the location sent, else the compounds near it (a list), else None."""
    if form.compound:
        return form.compound
    try:
        lat, lon = float(form.lat), float(form.lon)
    except ValueError:
        return None
    compounds = await locations.compound_map(pool)
    return compounds.locate(lat, lon) or compounds.nearest(lat, lon)


def _invalid(error: ValidationError) -> str:
    fields = {str(e["loc"][0]) for e in error.errors()}
    if "description" in fields:
        return _("Describe the problem in at most 4000 characters.")
    if "reporter" in fields:
        return _("Check your name (at most 100 characters) and mobile phone number (e.g. 13812345678).")
    if "location" in fields:
        return _("Your location could not be read: pick your compound from the list.")
    return _("Check the form: %(fields)s") % {"fields": ", ".join(sorted(fields))}


# ---- following a case ---------------------------------------------------------------------------------------


def _case_path(case_id: str) -> str:
    return f"{PREFIX}/cases/{case_id}"


def _remember(request: Request, response: Response, case_id: str, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=REMEMBER_FOR,
        path=_case_path(case_id),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def _role(client, pool, case_id: str, token: str | None) -> ResidentRole | None:
    """The token's role on the case; None for no token, a wrong one, or no such case (indistinguishable)."""
    if not token:
        return None
    try:
        return await calls.resident_role(client, pool, case_id, token)
    except ApiError as error:
        if error.status_code == 404:
            return None
        raise


@router.get("/cases/{case_id}", dependencies=[access.Public])
async def case_page(
    request: Request,
    case_id: CaseId,
    client: TemporalClient,
    pool: DbPool,
    done: Annotated[str | None, Query(pattern=r"^(verdict|withdrawn)$")] = None,
) -> HTMLResponse:
    token = request.cookies.get(COOKIE)
    try:
        role = await _role(client, pool, case_id, token)
        view = await calls.case_view(client, pool, case_id) if role is not None else None
    except ApiError as error:  # e.g. Temporal unreachable: said in words, to try again
        page = _page(request, "refused.html", error.status_code, case_id=case_id, reason=error.message)
        page.headers.update(error.headers or {})
        return page
    if role is None or view is None:  # nothing of the case: the script hands over the private link's token
        return _page(request, "opening.html", case_id=case_id, session_url=f"{_case_path(case_id)}/session")
    names = await name_book(pool)
    return _page(
        request,
        "case.html",
        case=view,
        role=role.value,
        names=names,
        lines=narrate(view.timeline, names),
        pictures=await photos.of_case(pool, case_id),
        holder=_holder(view, names),
        done=done,
        form_key=uuid.uuid4().hex,
        now=datetime.now(UTC),
    )


def _holder(view: CaseView, names: NameBook) -> str:
    """Who holds the case now and until when, in one sentence."""
    if view.status is Status.CLOSED:
        return _("Closed: %(reason)s.") % {"reason": name(view.close_reason)}
    if view.status is Status.RESOLVED:
        return _("Resolved by %(owner)s. Your verdict is due by %(due)s.") % {
            "owner": names(view.owner),
            "due": _moment(view.feedback_due),
        }
    return _("%(owner)s (%(level)s) holds the case, due by %(due)s.") % {
        "owner": names(view.owner),
        "level": name(view.level),
        "due": _moment(view.deadline),
    }


def _moment(moment: datetime | None) -> str:
    return moment_text(moment) if moment else "–"


class Handover(BaseModel):
    token: str | None = Field(default=None, max_length=128)


@router.post("/cases/{case_id}/session", dependencies=[_RESIDENT])
async def open_case(
    request: Request, case_id: CaseId, handover: Handover, client: TemporalClient, pool: DbPool
) -> Response:
    """The private link's token (or the cookie already kept) becomes this case's cookie; 403 otherwise. A JSON
    body: another site's page cannot send one without the browser asking this server first (CORS), and it
    does not answer."""
    token = handover.token or request.cookies.get(COOKIE)
    if await _role(client, pool, case_id, token) is None:
        return JSONResponse({"detail": _("This link is not valid.")}, 403, headers=_HEADERS)
    response = Response(status_code=204, headers=_HEADERS)
    _remember(request, response, case_id, token)
    return response


async def _reporter_acts(request: Request, client, pool, case_id: str, act) -> Response:
    """Run a reporter's action with the case's cookie and go back to the case page (or show why not)."""
    token = request.cookies.get(COOKIE)
    role = await _role(client, pool, case_id, token)
    if role is None:
        return _page(request, "opening.html", 403, case_id=case_id, session_url=f"{_case_path(case_id)}/session")
    if role is not ResidentRole.REPORTER:
        return _page(
            request, "refused.html", 403, case_id=case_id, reason=_("Only the resident who reported it may do this.")
        )
    try:
        done = await act(token)
    except ApiError as error:
        return _page(request, "refused.html", error.status_code, case_id=case_id, reason=error.message)
    return RedirectResponse(f"{_case_path(case_id)}?done={done}", status_code=303, headers=_HEADERS)


@router.post("/cases/{case_id}/verdict", dependencies=[_RESIDENT])
async def verdict(
    request: Request,
    case_id: CaseId,
    client: TemporalClient,
    pool: DbPool,
    satisfied: Annotated[bool, Form()],
    score: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=500)] = "",
    form_key: FormKey = None,
) -> Response:
    async def act(token: str) -> str:
        command = Feedback(token=token, satisfied=satisfied, score=score, comment=comment.strip() or None)
        once = request_id("resident", "feedback", form_key)
        await calls.case_update(client, case_id, CaseWorkflow.feedback, command, request_id=once)
        return "verdict"

    return await _reporter_acts(request, client, pool, case_id, act)


@router.post("/cases/{case_id}/withdraw", dependencies=[_RESIDENT])
async def withdraw(
    request: Request,
    case_id: CaseId,
    client: TemporalClient,
    pool: DbPool,
    reason: Annotated[str, Form(max_length=500)] = "",
    form_key: FormKey = None,
) -> Response:
    async def act(token: str) -> str:
        command = Withdraw(token=token, reason=reason.strip() or None)
        once = request_id("resident", "withdraw", form_key)
        await calls.case_update(client, case_id, CaseWorkflow.withdraw, command, request_id=once)
        return "withdrawn"

    return await _reporter_acts(request, client, pool, case_id, act)


@router.get("/cases/{case_id}/photos/{photo_id}", dependencies=[_RESIDENT])
async def case_photo(
    request: Request,
    case_id: CaseId,
    photo_id: photos.PhotoName,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
    thumbnail: bool = False,
) -> Response:
    if await _role(client, pool, case_id, request.cookies.get(COOKIE)) is None:
        return Response(status_code=403, headers=_HEADERS)
    if case_id not in await photos.attached(pool, photo_id):
        return Response(status_code=404, headers=_HEADERS)
    return await photos.served(photos.store_for(settings), photo_id, thumbnail)
