"""Handlers: the council parties, community committees, street offices (and the district centre at DISTRICT).

Each acts for its own organisation (from its key); the case's validators decide whether that organisation
may act at the case's current level.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from activities import search
from api import calls
from api.actions import CasePath, case_action
from api.auth import Handler, acting, check_view
from api.dependencies import DbPool, TemporalClient
from api.errors import responses
from schemas.actions import ActionKind
from schemas.case import (
    Accept,
    AddNote,
    Arrive,
    CaseView,
    Conclude,
    DecideExtension,
    DecidePause,
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
from schemas.domain import Status
from schemas.search import CaseFilter, CasePage
from workflows.case import CaseWorkflow

router = APIRouter(prefix="/v1/handler", tags=["handlers"])

OPEN = [Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED]


@router.get(
    "/inbox",
    response_model=CasePage,
    responses=responses(401, 403, 503),
    summary="Cases my organisation can act on now (open ones unless `status` says otherwise), overdue first",
)
async def inbox(caller: Handler, pool: DbPool, query: Annotated[CaseFilter, Query()]) -> CasePage:
    if not query.status:
        query = query.model_copy(update={"status": OPEN})
    return await search.search_cases(pool, query, actionable_by=caller.org)


@router.get(
    "/cases/{case_id}",
    response_model=CaseView,
    responses=responses(401, 403, 404, 503),
    summary="One case, for a participant or an organisation over its area",
)
async def case(case_id: CasePath, caller: Handler, client: TemporalClient, pool: DbPool) -> CaseView:
    view = await calls.case_view(client, pool, case_id)
    check_view(caller, view)
    return view


case_action(
    router,
    "accept",
    CaseWorkflow.accept,
    Accept,
    acting(ActionKind.ACCEPT),
    "Report for duty (报到): take the case at my level",
)
case_action(
    router,
    "arrive",
    CaseWorkflow.arrive,
    Arrive,
    acting(ActionKind.ARRIVE),
    "Record arrival on site (5-minute standard)",
)
case_action(router, "notes", CaseWorkflow.note, AddNote, acting(ActionKind.NOTE), "Add a progress note")
case_action(
    router,
    "plan",
    CaseWorkflow.plan,
    PresentPlan,
    acting(ActionKind.PLAN),
    "Present the solution plan of a COMPLEX case",
)
case_action(
    router,
    "resolve",
    CaseWorkflow.resolve,
    Resolve,
    acting(ActionKind.RESOLVE),
    "Resolve (at COUNCIL: propose, for the quorum)",
)
case_action(
    router,
    "signoff",
    CaseWorkflow.signoff,
    Signoff,
    acting(ActionKind.SIGNOFF),
    "Sign off (or object to) a council proposal",
)
case_action(
    router,
    "whistle",
    CaseWorkflow.whistle,
    Whistle,
    acting(ActionKind.WHISTLE),
    "Whistle (吹哨): escalate to the next level",
)
case_action(
    router,
    "extension-request",
    CaseWorkflow.request_extension,
    RequestExtension,
    acting(ActionKind.REQUEST_EXTENSION),
    "Ask the level above for a later deadline",
)
case_action(
    router,
    "extension-decision",
    CaseWorkflow.decide_extension,
    DecideExtension,
    acting(ActionKind.DECIDE_EXTENSION),
    "Approve or deny the extension asked by the level below",
)
case_action(
    router,
    "pause-request",
    CaseWorkflow.request_pause,
    RequestPause,
    acting(ActionKind.REQUEST_PAUSE),
    "Ask the level above to pause (挂起) my level's clock: a reason from the list, an optional until-date",
)
case_action(
    router,
    "pause-decision",
    CaseWorkflow.decide_pause,
    DecidePause,
    acting(ActionKind.DECIDE_PAUSE),
    "Approve or deny the pause asked by the level below",
)
case_action(
    router,
    "resume",
    CaseWorkflow.resume,
    Resume,
    acting(ActionKind.RESUME),
    "End a pause: the level's clock runs again",
)
case_action(
    router,
    "reroute",
    CaseWorkflow.reroute,
    Reroute,
    acting(ActionKind.REROUTE),
    "Street: send a returned case to departments",
)
case_action(
    router,
    "conclude",
    CaseWorkflow.conclude,
    Conclude,
    acting(ActionKind.CONCLUDE),
    "Street: after a return, decide with a reason that the completed department work suffices (resolves)",
)
case_action(
    router,
    "dispatch",
    CaseWorkflow.dispatch,
    VolunteerDispatch,
    acting(ActionKind.DISPATCH),
    "Community: hand the case to a volunteer",
)
