"""The handlers' workbench: a signed-in person's inbox and the case (or department task) page with the forms of
exactly the actions their organisation may take now.

What may be done comes from the workflows' `actions` queries (the validators' own rules); every form posts to
its page and runs the same `api.calls` update as the JSON API, under an update id made from the form's one-use
key (a double submission applies once). A refusal is shown on the page in the validator's words.
The inbox refreshes itself by polling `/work/count` (see static/workbench.js).
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from activities import inbox, registry
from api import calls, photos
from api.auth import Principal, check_right, check_view
from api.bodies import request_id
from api.dependencies import AppSettings, DbPool, TemporalClient
from api.errors import ApiError
from api.pages import serve_static, templates
from api.sessions import SignedIn
from api.wording import say
from client.names import name_book
from client.settings import Settings
from i18n.language import N_, _
from i18n.names import NameBook, name
from i18n.timeline import narrate
from i18n.zone import as_local
from schemas.actions import CASE_RIGHTS, TASK_RIGHTS, ActionKind
from schemas.case import (
    Accept,
    AddNote,
    Arrive,
    CaseId,
    CaseView,
    Conclude,
    DecideExtension,
    DecidePause,
    DepartmentSummons,
    EventKind,
    PresentPlan,
    RequestExtension,
    RequestPause,
    Reroute,
    Resolve,
    Resume,
    Signoff,
    VolunteerDispatch,
    Whistle,
)
from schemas.domain import Level, OrgKind, Status
from schemas.inbox import InboxFilter
from schemas.keys import RIGHTS, Right
from schemas.pause import PauseReason
from schemas.task import TaskAccept, TaskComplete, TaskExtension, TaskNote, TaskPause, TaskReturn, TaskView
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow as Task

PREFIX = "/work"
POLL_SECONDS = 20
UPLOADS = (f"{PREFIX}/cases/", f"{PREFIX}/tasks/")  # forms under these take photos (notes, evidence)
_COUNCIL_VOTE = {EventKind.RESOLUTION_PROPOSED, EventKind.SIGNED_OFF, EventKind.OBJECTED, EventKind.PROPOSAL_FAILED}
_FORM_KEY = 32  # hex characters of a form's one-use key

router = APIRouter(prefix=PREFIX, include_in_schema=False)
serve_static(router, {"workbench.css": "text/css", "workbench.js": "text/javascript"})


class Refused(Exception):
    """A form that cannot become a command (a missing or malformed field), in words a person reads."""


async def _page(
    request: Request, pool, template: str, caller: Principal, status_code: int = 200, **context
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        f"workbench/{template}",
        {
            "caller": caller,
            "now": datetime.now(UTC),
            "names": await name_book(pool),
            "here": request.url.remove_query_params("lang"),
            **context,
        },
        status_code=status_code,
    )


async def _refusal(request: Request, pool, caller: Principal, status_code: int, message: str) -> HTMLResponse:
    return await _page(request, pool, "refused.html", caller, status_code, error=message)


# ---- the inbox ------------------------------------------------------------------------------------------


def _filter(request: Request) -> InboxFilter:
    """The inbox's filter from the query string; an empty field ("all") is no filter."""
    given: dict[str, Any] = {}
    for key in ("status", "level", "category"):
        values = [value for value in request.query_params.getlist(key) if value]
        if values:
            given[key] = values
    for key in ("overdue", "text", "page"):
        value = request.query_params.get(key)
        if value:
            given[key] = value
    return InboxFilter.model_validate(given)


@router.get("/")
async def inbox_page(request: Request, caller: SignedIn, pool: DbPool) -> HTMLResponse:
    try:
        query = _filter(request)
    except ValidationError:
        query, error = InboxFilter(), _("Some filters were not understood; showing everything.")
    else:
        error = None
    page = await inbox.inbox(pool, caller.org, query)
    async with pool.acquire() as connection:
        categories = await registry.categories(connection)
    return await _page(
        request,
        pool,
        "inbox.html",
        caller,
        page=page,
        query=query,
        error=error,
        stamp=await inbox.stamp(pool, caller.org),
        statuses=[Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED],
        levels=list(Level),
        categories=[category.code for category in categories],
        poll_seconds=POLL_SECONDS,
    )


@router.get("/count")
async def count(caller: SignedIn, pool: DbPool) -> JSONResponse:
    """The badge's number and a stamp that changes whenever the inbox would show something else."""
    total = await inbox.count(pool, caller.org)
    return JSONResponse({"count": total, "stamp": await inbox.stamp(pool, caller.org)})


# ---- the case page --------------------------------------------------------------------------------------


async def _viewable(request: Request, client, pool, caller: Principal, case_id: str) -> CaseView | HTMLResponse:
    try:
        view = await calls.case_view(client, pool, case_id)
        check_view(caller, view)
    except ApiError as error:
        return await _refusal(request, pool, caller, error.status_code, say(error.words, await name_book(pool)))
    return view


def _notice(done: str | None) -> str | None:
    try:
        return _("Done: %(action)s.") % {"action": name(ActionKind(done))} if done else None
    except ValueError:
        return None


@router.get("/cases/{case_id}")
async def case_page(
    request: Request,
    case_id: CaseId,
    caller: SignedIn,
    client: TemporalClient,
    pool: DbPool,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    view = await _viewable(request, client, pool, caller, case_id)
    if isinstance(view, HTMLResponse):
        return view
    return await _case_page(request, client, pool, caller, view, notice=_notice(done))


async def _case_page(
    request: Request, client, pool, caller: Principal, view: CaseView, status_code: int = 200, **context
) -> HTMLResponse:
    names = await name_book(pool)
    actions = permitted(caller, await calls.case_actions(client, view.case_id, caller.org), CASE_RIGHTS)
    pickers = await _pickers(pool, view, actions)
    return await _page(
        request,
        pool,
        "case.html",
        caller,
        status_code,
        here=request.url_for("case_page", case_id=view.case_id),
        **_case_context(view, names),
        actions=actions,
        kinds=ActionKind,
        form_key=uuid.uuid4().hex,
        **pickers,
        photos=await photos.of_case(pool, view.case_id),
        **context,
    )


def _case_context(view: CaseView, names: NameBook) -> dict[str, Any]:
    lines = narrate(view.timeline, names)
    kinds = {event.seq: event.kind for event in view.timeline}
    return {
        "case": view,
        "lines": lines,
        "council_lines": [line for line in lines if kinds[line.seqs[0]] in _COUNCIL_VOTE],
    }


async def _pickers(pool, view: CaseView, actions: list[ActionKind]) -> dict[str, Any]:
    """The choices the offered forms need: the district's departments with the category's routing as the
    default (whistle at STREET, reroute), the community's volunteers (dispatch), the reasons of a pause."""
    found: dict[str, Any] = {"pause_reasons": list(PauseReason)}
    async with pool.acquire() as connection:
        if ActionKind.REROUTE in actions or (ActionKind.WHISTLE in actions and view.level is Level.STREET):
            organisations = await registry.organisations(connection)
            found["departments"] = [
                org.code
                for org in organisations
                if org.kind is OrgKind.DEPARTMENT and org.jurisdiction == view.district
            ]
            category = await registry.category(connection, view.category, view.district)
            found["routing"] = category.routing
        if ActionKind.DISPATCH in actions:
            found["volunteers"] = await registry.volunteers(connection, view.community)
    return found


def permitted(caller: Principal, actions: list[ActionKind], rights: dict[ActionKind, Right]) -> list[ActionKind]:
    """The actions the workflow allows the organisation now that the person's role also holds the right for
    (the same right the JSON API's route requires)."""
    held = RIGHTS[caller.role]
    return [kind for kind in actions if rights.get(kind) in held]


def _text(form: FormData, field: str, required: bool = True) -> str | None:
    value = form.get(field)
    text = value.strip() if isinstance(value, str) else ""
    if not text and required:
        raise Refused(_("Please fill in: %(field)s.") % {"field": _(_FIELDS.get(field, field))})
    return text or None


_FIELDS = {
    "text": N_("note"),
    "summary": N_("summary"),
    "reason": N_("reason"),
    "until": N_("until"),
    "due_at": N_("due date"),
    "lead": N_("lead department"),
    "volunteer": N_("volunteer"),
    "result": N_("result"),
    "pause_reason": N_("reason"),
}


def _moment(form: FormData, field: str, required: bool = True) -> datetime | None:
    """A local time a person picked (a datetime-local field), in UTC."""
    text = _text(form, field, required)
    if text is None:
        return None
    try:
        return as_local(datetime.fromisoformat(text))
    except ValueError:
        raise Refused(_("Not a date and time: %(value)s.") % {"value": text}) from None


def _summons(form: FormData, required: bool) -> DepartmentSummons | None:
    lead = _text(form, "lead", required)
    if lead is None:
        return None
    assist = [code for code in form.getlist("assist") if isinstance(code, str) and code and code != lead]
    return DepartmentSummons(lead=lead, assist=assist)


async def _photo_urls(request: Request, settings: Settings, pool, case_id: str, form: FormData) -> list[str]:
    """The form's photos stored (as the photo upload stores them) and attached to the case: their URLs."""
    files = [part for part in form.getlist("photo") if isinstance(part, UploadFile) and part.filename]
    if not files:
        return []
    try:
        kept = await photos.keep(photos.store_for(settings), files)  # type: ignore[arg-type]
    except photos.PhotoRefused as refused:
        raise Refused(refused.reason) from None
    await photos.attach(pool, case_id, [photo.name for photo in kept])
    base = photos.base_url(request, settings)
    return [photos.photo_url(base, photo.name) for photo in kept]


async def _case_command(kind: ActionKind, form: FormData, caller: Principal, urls: list[str]) -> tuple[Any, Any]:
    """The update and command a case form asks for."""
    actor = caller.actor()
    if kind is ActionKind.ACCEPT:
        return CaseWorkflow.accept, Accept(actor=actor)
    if kind is ActionKind.ARRIVE:
        return CaseWorkflow.arrive, Arrive(actor=actor, note=_text(form, "note", False))
    if kind is ActionKind.NOTE:
        text = "\n".join([_text(form, "text") or "", *urls])
        return CaseWorkflow.note, AddNote(actor=actor, text=text)
    if kind is ActionKind.PLAN:
        summary, due = _text(form, "summary"), _moment(form, "due_at")
        return CaseWorkflow.plan, PresentPlan(actor=actor, summary=summary, due_at=due)
    if kind is ActionKind.RESOLVE:
        return CaseWorkflow.resolve, Resolve(actor=actor, summary=_text(form, "summary"))
    if kind is ActionKind.SIGNOFF:
        agree = form.get("agree") == "true"
        return CaseWorkflow.signoff, Signoff(actor=actor, agree=agree, comment=_text(form, "comment", False))
    if kind is ActionKind.WHISTLE:
        reason = _text(form, "reason")
        return CaseWorkflow.whistle, Whistle(actor=actor, reason=reason, departments=_summons(form, False))
    if kind is ActionKind.REQUEST_EXTENSION:
        until, reason = _moment(form, "until"), _text(form, "reason")
        return CaseWorkflow.request_extension, RequestExtension(actor=actor, until=until, reason=reason)
    if kind is ActionKind.DECIDE_EXTENSION:
        approve = form.get("approve") == "true"
        return CaseWorkflow.decide_extension, DecideExtension(
            actor=actor, approve=approve, reason=_text(form, "reason")
        )
    if kind is ActionKind.REQUEST_PAUSE:
        reason = PauseReason(_text(form, "pause_reason"))
        command = RequestPause(
            actor=actor, reason=reason, note=_text(form, "note", False), until=_moment(form, "until", False)
        )
        return CaseWorkflow.request_pause, command
    if kind is ActionKind.DECIDE_PAUSE:
        approve = form.get("approve") == "true"
        return CaseWorkflow.decide_pause, DecidePause(actor=actor, approve=approve, reason=_text(form, "reason"))
    if kind is ActionKind.RESUME:
        return CaseWorkflow.resume, Resume(actor=actor, note=_text(form, "note", False))
    if kind is ActionKind.REROUTE:
        departments = _summons(form, True)
        return CaseWorkflow.reroute, Reroute(actor=actor, departments=departments, reason=_text(form, "reason"))
    if kind is ActionKind.CONCLUDE:
        return CaseWorkflow.conclude, Conclude(actor=actor, reason=_text(form, "reason"))
    if kind is ActionKind.DISPATCH:
        return CaseWorkflow.dispatch, VolunteerDispatch(actor=actor, volunteer=_text(form, "volunteer"))
    raise Refused(_("This page does not offer that action."))


def _form_key(form: FormData) -> str | None:
    key = form.get("form_key")
    if isinstance(key, str) and len(key) == _FORM_KEY and all(c in "0123456789abcdef" for c in key):
        return key
    return None


def _kind(form: FormData) -> ActionKind:
    try:
        return ActionKind(str(form.get("action")))
    except ValueError:
        raise Refused(_("This page does not offer that action.")) from None


@router.post("/cases/{case_id}")
async def case_action(
    request: Request,
    case_id: CaseId,
    caller: SignedIn,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
) -> Response:
    view = await _viewable(request, client, pool, caller, case_id)
    if isinstance(view, HTMLResponse):
        return view
    form = await request.form(max_files=photos.MAX_PHOTOS, max_part_size=photos.MAX_PHOTO_BYTES)
    names = await name_book(pool)
    try:
        kind = _kind(form)
        check_right(caller, CASE_RIGHTS[kind])
        urls = await _photo_urls(request, settings, pool, case_id, form) if kind is ActionKind.NOTE else []
        update, command = await _case_command(kind, form, caller, urls)
        once = request_id(caller.org, f"work/{kind}", _form_key(form))
        await calls.case_update(client, case_id, update, command, request_id=once)
    except (Refused, ValidationError, ValueError, ApiError) as refusal:
        status_code, message = _refused(refusal, names)
        view = await calls.case_view(client, pool, case_id)
        return await _case_page(request, client, pool, caller, view, status_code, error=message)
    return RedirectResponse(f"{PREFIX}/cases/{case_id}?done={kind}", status_code=303)


def _refused(refusal: Exception, names: NameBook) -> tuple[int, str]:
    if isinstance(refusal, ApiError):
        return refusal.status_code, say(refusal.words, names)
    if isinstance(refusal, ValidationError):
        return 422, _("Please check the form: %(problem)s") % {
            "problem": "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in refusal.errors())
        }
    return 422, str(refusal)


# ---- a department's task page ---------------------------------------------------------------------------


@router.get("/tasks/{case_id}")
async def task_page(
    request: Request,
    case_id: CaseId,
    caller: SignedIn,
    client: TemporalClient,
    pool: DbPool,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    try:
        task = await calls.task_view(client, pool, case_id, caller.org, mine=True)
    except ApiError as error:
        return await _refusal(request, pool, caller, error.status_code, say(error.words, await name_book(pool)))
    return await _task_page(request, client, pool, caller, task, notice=_notice(done))


async def _task_page(
    request: Request, client, pool, caller: Principal, task: TaskView, status_code: int = 200, **context
) -> HTMLResponse:
    view = await calls.case_view(client, pool, task.case_id)
    return await _page(
        request,
        pool,
        "task.html",
        caller,
        status_code,
        here=request.url_for("task_page", case_id=task.case_id),
        **_case_context(view, await name_book(pool)),
        task=task,
        actions=permitted(caller, await calls.task_actions(client, task.case_id, caller.org, caller.org), TASK_RIGHTS),
        kinds=ActionKind,
        pause_reasons=list(PauseReason),
        form_key=uuid.uuid4().hex,
        photos=await photos.of_case(pool, task.case_id),
        **context,
    )


def _task_command(kind: ActionKind, form: FormData, caller: Principal, urls: list[str]) -> tuple[Any, Any]:
    actor = caller.task_actor()
    if kind is ActionKind.ACCEPT:
        return Task.accept, TaskAccept(actor=actor)
    if kind is ActionKind.NOTE:
        return Task.note, TaskNote(actor=actor, text="\n".join([_text(form, "text") or "", *urls]))
    if kind is ActionKind.COMPLETE:
        return Task.complete, TaskComplete(actor=actor, result=_text(form, "result"), evidence_urls=urls)
    if kind is ActionKind.RETURN:
        return Task.return_task, TaskReturn(actor=actor, reason=_text(form, "reason"))
    if kind is ActionKind.REQUEST_EXTENSION:
        until, reason = _moment(form, "until"), _text(form, "reason")
        return Task.request_extension, TaskExtension(actor=actor, until=until, reason=reason)
    if kind is ActionKind.REQUEST_PAUSE:
        reason = PauseReason(_text(form, "pause_reason"))
        return Task.request_pause, TaskPause(
            actor=actor, reason=reason, note=_text(form, "note", False), until=_moment(form, "until", False)
        )
    if kind is ActionKind.RESUME:
        return Task.resume, Resume(actor=caller.actor(), note=_text(form, "note", False))
    raise Refused(_("This page does not offer that action."))


@router.post("/tasks/{case_id}")
async def task_action(
    request: Request,
    case_id: CaseId,
    caller: SignedIn,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
) -> Response:
    names = await name_book(pool)
    try:
        task = await calls.task_view(client, pool, case_id, caller.org, mine=True)
    except ApiError as error:
        return await _refusal(request, pool, caller, error.status_code, say(error.words, names))
    form = await request.form(max_files=photos.MAX_PHOTOS, max_part_size=photos.MAX_PHOTO_BYTES)
    try:
        kind = _kind(form)
        check_right(caller, TASK_RIGHTS[kind])
        with_photos = kind in (ActionKind.NOTE, ActionKind.COMPLETE)
        urls = await _photo_urls(request, settings, pool, case_id, form) if with_photos else []
        update, command = _task_command(kind, form, caller, urls)
        once = request_id(caller.org, f"work/task/{kind}", _form_key(form))
        await calls.task_update(client, case_id, caller.org, update, command, request_id=once, mine=True)
    except (Refused, ValidationError, ValueError, ApiError) as refusal:
        status_code, message = _refused(refusal, names)
        task = await calls.task_view(client, pool, case_id, caller.org, mine=True)
        return await _task_page(request, client, pool, caller, task, status_code, error=message)
    return RedirectResponse(f"{PREFIX}/tasks/{case_id}?done={kind}", status_code=303)


# ---- photos and assets ----------------------------------------------------------------------------------


@router.get("/cases/{case_id}/photos/{photo_id}")
async def case_photo(
    request: Request,
    case_id: CaseId,
    photo_id: photos.PhotoName,
    caller: SignedIn,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
    thumbnail: bool = False,
) -> Response:
    """A photo of a case, for a person whose organisation may view the case."""
    view = await _viewable(request, client, pool, caller, case_id)
    if isinstance(view, HTMLResponse):
        return view
    if case_id not in await photos.attached(pool, photo_id):
        return Response(status_code=404)
    return await photos.served(photos.store_for(settings), photo_id, thumbnail)
