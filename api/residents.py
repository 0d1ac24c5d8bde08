"""Residents (and intake channels reporting for them): report a case, view it, give feedback, withdraw."""

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from activities import registry
from api import calls, links, photos
from api.actions import CasePath
from api.auth import CaseToken, Reporter, check_right, resident_access
from api.bodies import IdempotencyHeader, body_of, command_from, request_id
from api.dependencies import AppSettings, DbPool, TemporalClient
from api.errors import ApiError, FieldError, responses
from api.limits import report_limit
from client.cases import IdempotencyKeyReused, IntakeOutcome, report_case
from client.settings import Settings
from schemas.case import CaseReport, CaseView, Feedback, ResidentAnswer, ResidentRole, Withdraw
from schemas.domain import Channel
from schemas.keys import Right
from schemas.messages import N_
from workflows.case import CaseWorkflow

router = APIRouter(prefix="/v1/cases", tags=["residents"])

_REPORTER_LINKS = links.to(*(f"POST /v1/cases/{{case_id}}/{action}" for action in ("feedback", "withdraw", "answer")))
# A report's case, as its reporter, its handlers, the district centre and a summoned department see it.
_CASE_LINKS = links.to(
    "GET /v1/cases/{case_id}",
    "GET /v1/handler/cases/{case_id}",
    "GET /v1/supervisor/cases/{case_id}",
    "GET /v1/department/tasks/{case_id}",
)

FeedbackBody = body_of(Feedback, supplied="token")
WithdrawBody = body_of(Withdraw, supplied="token")
AnswerBody = body_of(ResidentAnswer, supplied="token")


class ReportReceipt(BaseModel):
    case_id: str
    outcome: IntakeOutcome = Field(
        description="CREATED: a new case; LINKED: the same issue is already open nearby, you follow that case; "
        "EXISTING: this ticket, or this report with this Idempotency-Key, was reported before (Idempotency-Keys "
        "of an intake key are its organisation's own; a key reused for a different report is refused)"
    )
    token: str | None = Field(
        description="your access token for this case (X-Case-Token), shown this once; a repeat with the same "
        "Idempotency-Key and the same report gets a new one (the first stays valid: its answer may have been lost); "
        "null for any other repeat and once the case is closed"
    )


async def report_for(
    client, pool, settings: Settings, report: CaseReport, caller, idempotency_key: str | None
) -> ReportReceipt:
    """Shared by `/v1/cases` and Open311: the caller's channel, the registry check, then `report_case` on the
    deployment's default SLA policy (residents never choose one)."""
    channel = Channel.APP
    if caller is not None:
        check_right(caller, Right.REPORT)
        channel = caller.channel
    if "channel" not in report.model_fields_set:
        report = report.model_copy(update={"channel": channel})
    elif report.channel != channel:
        raise ApiError(
            403,
            N_("reports through %(channel)s need an intake key of that channel; this key is for %(key_channel)s"),
            params={"channel": report.channel, "key_channel": channel},
        )
    if report.external_id and caller is None:
        raise ApiError(403, N_("external ticket ids come from intake channels; report with an intake key"))
    attached = photos.named_in(report.photo_urls)
    await photos.check_stored(photos.store_for(settings), attached, "photo_urls")
    try:
        reported = await report_case(
            client,
            pool,
            report,
            task_queue=settings.task_queue,
            policy=settings.default_policy,
            idempotency_key=idempotency_key,
            caller_org=caller.org if caller is not None else None,
        )
    except IdempotencyKeyReused as error:
        raise FieldError(
            ("header", "Idempotency-Key"),
            N_("this Idempotency-Key was already used for a different report; use a new key for a new report"),
            "idempotency_key_reused",
        ) from error
    except registry.UnknownReference as error:
        async with pool.acquire() as connection:
            field, unknown, code = "compound", N_("unknown compound %(code)s"), report.compound
            try:
                await registry.category(connection, report.category)
            except registry.UnknownReference:
                field, unknown, code = "category", N_("unknown category %(code)s"), report.category
        raise FieldError(("body", field), unknown, params={"code": code}) from error
    except ValueError as error:  # anonymous report in a category that needs a name
        raise FieldError(
            ("body", "reporter", "anonymous"),
            N_("%(category)s does not accept anonymous reports"),
            "not_allowed",
            params={"category": report.category},
        ) from error
    if reported.outcome is not IntakeOutcome.LINKED:  # a follower's report adds nothing to the case it follows
        await photos.attach(pool, reported.case_id, attached)
    return ReportReceipt(case_id=reported.case_id, outcome=reported.outcome, token=reported.token)


@router.post(
    "",
    response_model=ReportReceipt,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: _CASE_LINKS,
        200: {"model": ReportReceipt, "description": "a repeat of an earlier report", **_CASE_LINKS},
        **responses(401, 403, 429, 503, meaning={429: "too many reports without a key from this address or phone"}),
    },
    summary="Report an issue (residents without a key; intake channels with their key). Photos: upload them "
    "(POST /v1/photos), then list their URLs in photo_urls",
)
async def report(
    request: Request,
    body: CaseReport,
    response: Response,
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
    caller: Reporter,
    idempotency_key: IdempotencyHeader = None,
) -> ReportReceipt:
    if caller is None:
        report_limit(request, body.reporter.phone)
    receipt = await report_for(client, pool, settings, body, caller, idempotency_key)
    if receipt.outcome is IntakeOutcome.EXISTING:
        response.status_code = status.HTTP_200_OK
    return receipt


@router.get(
    "/{case_id}",
    response_model=CaseView,
    responses={**responses(401, 403, 404, 503), 200: _REPORTER_LINKS},
    summary="View your case (reporter or a follower who reported the same issue)",
)
async def view(case_id: CasePath, token: CaseToken, client: TemporalClient, pool: DbPool) -> CaseView:
    await resident_access(client, pool, case_id, token)
    return await calls.case_view(client, pool, case_id)


@router.post(
    "/{case_id}/feedback",
    response_model=CaseView,
    responses=responses(401, 403, 404, 409, 503),
    summary="Rate a resolved case: satisfied closes it, unsatisfied reopens it (reporter only)",
)
async def feedback(
    case_id: CasePath,
    body: FeedbackBody,
    token: CaseToken,
    client: TemporalClient,
    pool: DbPool,
    idempotency_key: IdempotencyHeader = None,
) -> CaseView:
    command = command_from(Feedback, body, token=token)
    return await _as_reporter(client, pool, case_id, token, CaseWorkflow.feedback, command, "feedback", idempotency_key)


@router.post(
    "/{case_id}/withdraw",
    response_model=CaseView,
    responses=responses(401, 403, 404, 409, 503),
    summary="Withdraw a case before it is resolved (reporter only)",
)
async def withdraw(
    case_id: CasePath,
    body: WithdrawBody,
    token: CaseToken,
    client: TemporalClient,
    pool: DbPool,
    idempotency_key: IdempotencyHeader = None,
) -> CaseView:
    command = command_from(Withdraw, body, token=token)
    return await _as_reporter(client, pool, case_id, token, CaseWorkflow.withdraw, command, "withdraw", idempotency_key)


@router.post(
    "/{case_id}/answer",
    response_model=CaseView,
    responses=responses(401, 403, 404, 409, 503),
    summary="Answer a case paused (挂起) to wait for you: its clock runs again (reporter only)",
)
async def answer(
    case_id: CasePath,
    body: AnswerBody,
    token: CaseToken,
    client: TemporalClient,
    pool: DbPool,
    idempotency_key: IdempotencyHeader = None,
) -> CaseView:
    command = command_from(ResidentAnswer, body, token=token)
    return await _as_reporter(client, pool, case_id, token, CaseWorkflow.answer, command, "answer", idempotency_key)


async def _as_reporter(
    client, pool, case_id: str, token: str, update, command, action: str, idempotency_key: str | None
) -> CaseView:
    """The reporter's own action on their case (a follower may only look), applied once per Idempotency-Key."""
    if await resident_access(client, pool, case_id, token) is not ResidentRole.REPORTER:
        raise ApiError(
            403, N_("only the resident who reported case %(case)s may do this; you follow it"), params={"case": case_id}
        )
    once = request_id("resident", action, idempotency_key)
    return await calls.case_update(client, case_id, update, command, request_id=once)
