"""Open311 GeoReport v2 (JSON) under `/open311/v2/`, so existing civic-reporting clients work unchanged.

Our categories are the services. A request is placed in its compound by `attribute[compound]` (a
singlevaluelist in every service definition), else by `lat`/`long` inside a compound's boundary (there is no
geocoder: `address_string` alone places nothing); `attribute[severity]` is optional and defaults to the
category's. Requests are public to read (as the spec says); creating one needs an
intake API key (`whistle keys create --role intake --channel OPEN311`) as `api_key`. Service request ids
are our case ids. Errors are the spec's array of `{code, description}`: 403 for a missing or bad api_key,
404 for an unknown service, request or jurisdiction, 503 while a dependency is down, 400 for everything else.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Form, Query
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from activities import locations, registry, search
from api import access, calls, links
from api.auth import authenticate, check_right
from api.bodies import IdempotencyHeader
from api.dependencies import AppSettings, DbPool, TemporalClient
from api.errors import ApiError, Open311Error, field_message, responses
from api.residents import report_for
from client.cases import IntakeOutcome
from client.names import name_book
from i18n.language import _
from i18n.names import NameBook, name
from schemas.case import CaseReport, CaseSummary, CaseView
from schemas.domain import Code, Severity, Status
from schemas.instant import Instant
from schemas.keys import Right
from schemas.messages import N_
from schemas.registry import Category
from schemas.search import CaseFilter, CaseSort

router = APIRouter(prefix="/open311/v2", tags=["open311"])

SPAN = timedelta(days=90)
_INSTANT = timedelta(microseconds=1)
_CASE_ID = re.compile(r"WH-\d{8}-\d{6}")
_CODE = TypeAdapter(Code)
MAX_REQUESTS = 1000
OPEN = [Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED]
CLOSED = [Status.RESOLVED, Status.CLOSED]  # "closed: it has been resolved"
_ERRORS = responses(
    400,
    403,
    404,
    503,
    model=list[Open311Error],
    meaning={
        400: "invalid request",
        403: "missing or invalid api_key",
        404: "unknown service, request or jurisdiction",
    },
)


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class RequestReceipt(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class RequestForm(BaseModel):
    """POST requests.json, form-encoded. An empty parameter counts as not sent (spec, "Optional Arguments")."""

    model_config = ConfigDict(populate_by_name=True)

    api_key: str | None = None
    jurisdiction_id: str | None = None
    service_code: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    compound: str | None = Field(default=None, alias="attribute[compound]")
    severity: str | None = Field(default=None, alias="attribute[severity]")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, values):
        if isinstance(values, dict):
            return {key: value for key, value in values.items() if value not in ("", None)}
        return values


def _w3(at: datetime | None) -> str | None:
    """W3C format, to the second; the API's JSON answer gives it the deployment's offset (`api.times`)."""
    return None if at is None else at.isoformat(timespec="seconds")


def _commas(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


async def _check_jurisdiction(connection: asyncpg.Connection, jurisdiction_id: str | None) -> None:
    if jurisdiction_id is None:
        return
    known = _is_code(jurisdiction_id) and await connection.fetchval(
        "SELECT 1 FROM jurisdictions WHERE code = $1 AND kind = 'DISTRICT'", jurisdiction_id
    )
    if not known:
        raise ApiError(404, N_("jurisdiction_id %(code)s not found"), params={"code": jurisdiction_id})


async def _category(connection: asyncpg.Connection, service_code: str) -> Category:
    try:
        if _is_code(service_code):
            return await registry.category(connection, service_code)
    except registry.UnknownReference:
        pass
    raise ApiError(404, N_("service_code %(code)s not found"), params={"code": service_code})


def _is_code(value: str) -> bool:
    try:
        _CODE.validate_python(value)
    except ValidationError:
        return False
    return True


JurisdictionId = Annotated[str | None, Query(description="optional: this endpoint serves one district")]


@router.get(
    "/services.json",
    response_model=list[Service],
    responses=_ERRORS,
    summary="GET Service List",
    dependencies=[access.Public],
)
async def services(pool: DbPool, jurisdiction_id: JurisdictionId = None) -> list[Service]:
    async with pool.acquire() as connection:
        await _check_jurisdiction(connection, jurisdiction_id)
        categories = await registry.categories(connection, jurisdiction_id)  # routed in that (or the only) district
    names = await name_book(pool)
    return [
        Service(
            service_code=category.code,
            service_name=names(category.code),
            description=_(
                "%(service)s, ordinarily %(severity)s: handled first by the compound's three-party council, "
                "escalating to the community, the street and the district"
            )
            % {"service": names(category.code), "severity": name(category.default_severity)},
            metadata=True,
            type="realtime",
            keywords=", ".join(category.keywords),
            group=names(category.routing.lead) if category.routing else names(category.code),
        )
        for category in categories
    ]


@router.get(
    "/services/{service_code}.json",
    response_model=ServiceDefinition,
    responses=_ERRORS,
    summary="GET Service Definition",
    dependencies=[access.Public],
)
async def service_definition(
    service_code: str, pool: DbPool, jurisdiction_id: JurisdictionId = None
) -> ServiceDefinition:
    async with pool.acquire() as connection:
        await _check_jurisdiction(connection, jurisdiction_id)
        category = await _category(connection, service_code)
        compounds = await connection.fetch(
            "SELECT code, parent AS community FROM jurisdictions WHERE kind = 'COMPOUND' ORDER BY code"
        )
    names = await name_book(pool)
    return ServiceDefinition(
        service_code=category.code,
        attributes=[
            Attribute(
                variable=True,
                code="compound",
                datatype="singlevaluelist",
                required=False,
                datatype_description=_("the compound where the issue is; without it, lat and long must lie inside one"),
                order=1,
                description=_("Which compound is it in?"),
                values=[
                    AttributeValue(
                        key=r["code"],
                        name=_("%(compound)s, %(community)s")
                        % {"compound": names(r["code"]), "community": names(r["community"])},
                    )
                    for r in compounds
                ],
            ),
            Attribute(
                variable=True,
                code="severity",
                datatype="singlevaluelist",
                required=False,
                datatype_description=_("default: %(severity)s") % {"severity": name(category.default_severity)},
                order=2,
                description=_("How serious is it?"),
                values=[
                    AttributeValue(key=Severity.ORDINARY, name=name(Severity.ORDINARY)),
                    AttributeValue(key=Severity.MAJOR, name=name(Severity.MAJOR)),
                    AttributeValue(
                        key=Severity.COMPLEX,
                        name=_("%(severity)s (needs a solution plan)") % {"severity": name(Severity.COMPLEX)},
                    ),
                ],
            ),
        ],
    )


async def _placed(pool: asyncpg.Pool, form: RequestForm, category: Category) -> str | None:
    """`attribute[compound]`, else the compound whose boundary holds `lat`/`long` (None: not placed by either)."""
    if form.compound is not None or form.lat is None or form.long is None:
        return form.compound
    compounds = await locations.compound_map(pool)
    found = compounds.locate(form.lat, form.long)
    if found is None:
        names = await name_book(pool)
        nearest = [
            f"{near.compound} {names.place(near.compound)} ({near.metres} m)"
            for near in compounds.nearest(form.lat, form.long)
        ]
        raise ApiError(
            400,
            N_(
                "lat %(lat)s, long %(long)s is in no compound: send attribute[compound] (see services/%(code)s.json); "
                "nearest: %(nearest)s"
            ),
            params={"lat": form.lat, "long": form.long, "code": category.code, "nearest": _(", ").join(nearest) or "–"},
        )
    return found


def _report(form: RequestForm, category: Category, compound: str | None, names: NameBook) -> CaseReport:
    location_text = form.address_string or (
        _("address id %(id)s") % {"id": form.address_id} if form.address_id else None
    )
    if form.lat is None or form.long is None:
        if (form.lat is None) != (form.long is None):
            raise ApiError(400, N_("lat and long must be sent together"))
        if location_text is None:
            raise ApiError(400, N_("a location is required: lat & long, address_string or address_id"))
    if compound is None:
        raise ApiError(
            400,
            N_("attribute[compound] was not provided (see services/%(code)s.json)"),
            params={"code": category.code},
        )
    description = form.description or names(category.code)
    if form.lat is None and location_text:
        description = _("%(description)s\n\nLocation: %(place)s") % {"description": description, "place": location_text}
    name = " ".join(part for part in (form.first_name, form.last_name) if part) or None
    fields = {
        "compound": compound,
        "category": category.code,
        "severity": form.severity,
        "description": description,
        "reporter": {"name": name, "phone": form.phone, "anonymous": name is None and form.phone is None},
        "location": {"lat": form.lat, "lon": form.long, "address": location_text} if form.lat is not None else None,
        "photo_urls": [form.media_url] if form.media_url else [],
    }
    try:
        return CaseReport.model_validate({key: value for key, value in fields.items() if value is not None})
    except ValidationError as error:
        spec_names = {"severity": "attribute[severity]", "photo_urls": "media_url", "compound": "attribute[compound]"}
        problems = _("; ").join(
            _("%(field)s: %(problem)s")
            % {
                "field": spec_names.get(str(e["loc"][0]), e["loc"][-1] if e["loc"][0] == "reporter" else e["loc"][0]),
                "problem": field_message(e),
            }
            for e in error.errors()
        )
        raise ApiError(400, N_("The request is not valid: %(problems)s"), params={"problems": problems}) from None


@router.post(
    "/requests.json",
    response_model=list[RequestReceipt],
    responses={
        **_ERRORS,
        200: links.to(
            "GET /open311/v2/requests/{service_request_id}.json",
            parameter="service_request_id",
            value=links.FIRST_REQUEST_ID,
        ),
    },
    summary="POST Service Request (form-encoded; needs an intake api_key)",
    dependencies=[access.declared(access.OPEN311_REPORTING)],
)
async def create_request(
    form: Annotated[RequestForm, Form()],
    client: TemporalClient,
    pool: DbPool,
    settings: AppSettings,
    idempotency_key: IdempotencyHeader = None,
) -> list[RequestReceipt]:
    caller = await authenticate(pool, form.api_key) if form.api_key else None
    if caller is None:
        raise ApiError(403, N_("missing or invalid api_key"))
    check_right(caller, Right.REPORT)  # before anything about the request is said
    async with pool.acquire() as connection:
        await _check_jurisdiction(connection, form.jurisdiction_id)
        if form.service_code is None:
            raise ApiError(400, N_("service_code was not provided"))
        category = await _category(connection, form.service_code)
    report = _report(form, category, await _placed(pool, form, category), await name_book(pool))
    receipt = await report_for(client, pool, settings, report, caller, idempotency_key)
    notice = {
        IntakeOutcome.CREATED: N_(
            "received: the compound's three-party council responds first, under the 5341 standard"
        ),
        IntakeOutcome.LINKED: N_(
            "the same issue is already reported and open in this compound; this request follows it"
        ),
        IntakeOutcome.EXISTING: N_("this request was received before"),
    }[receipt.outcome]
    return [RequestReceipt(service_request_id=receipt.case_id, service_notice=_(notice), account_id=None)]


def _status_notes(case: CaseSummary, names: NameBook) -> str:
    if case.status is Status.CLOSED:
        return _("closed (%(reason)s) at the %(level)s level") % {
            "reason": name(case.close_reason),
            "level": name(case.resolved_level or case.level),
        }
    if case.status is Status.RESOLVED:
        return _("resolved at the %(level)s level, waiting for the resident's verdict") % {
            "level": name(case.resolved_level),
        }
    notes = _("%(status)s at the %(level)s level, handled by %(owner)s") % {
        "status": name(case.status),
        "level": name(case.level),
        "owner": names(case.owner),
    }
    return _("%(notes)s, overdue") % {"notes": notes} if case.overdue else notes


async def _render(pool: asyncpg.Pool, cases: list[CaseSummary]) -> list[ServiceRequest]:
    names = await name_book(pool)
    return [
        ServiceRequest(
            service_request_id=case.case_id,
            status="open" if case.status in OPEN else "closed",
            status_notes=_status_notes(case, names),
            service_name=names(case.category),
            service_code=case.category,
            description=case.description,
            agency_responsible=names(case.owner),
            service_notice=None,
            requested_datetime=_w3(case.reported_at),
            updated_datetime=_w3(case.closed_at or case.updated_at),
            expected_datetime=_w3(case.deadline),
            address_id=None,
            zipcode=None,
            **_place(case),
        )
        for case in cases
    ]


def _place(case: CaseSummary) -> dict:
    """Where and what it looks like: only the workflow's view has it (the read model keeps no location)."""
    location = case.location if isinstance(case, CaseView) else None
    return {
        "address": location.address if location else None,
        "lat": location.lat if location else None,
        "long": location.lon if location else None,
        "media_url": case.photo_urls[0] if isinstance(case, CaseView) and case.photo_urls else None,
    }


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The requested [start, end] as the half-open [start, end + 1 µs) a `CaseFilter` takes; by default the
    90 days up to now (or after start, or before end)."""
    if start is None and end is None:
        end = datetime.now(UTC)
    try:
        start = start or end - SPAN
        end = end or start + SPAN
        after_end = end + _INSTANT
    except OverflowError:
        raise ApiError(
            400, N_("start_date and end_date must leave room for the 90-day period in the calendar")
        ) from None
    if end < start:
        raise ApiError(400, N_("end_date is before start_date"))
    if end - start > SPAN:
        raise ApiError(400, N_("start_date and end_date may not span more than 90 days"))
    return start, after_end


@router.get(
    "/requests.json",
    response_model=list[ServiceRequest],
    responses=_ERRORS,
    summary="GET Service Requests (default: the last 90 days, at most 1000, newest first)",
    dependencies=[access.Public],
)
async def requests(
    pool: DbPool,
    jurisdiction_id: JurisdictionId = None,
    service_request_id: Annotated[list[str], Query(description="comma-delimited ids; overrides the rest")] = [],  # noqa: B006
    service_code: Annotated[list[str], Query(description="comma-delimited service codes")] = [],  # noqa: B006
    start_date: Annotated[Instant | None, Query(description="W3C datetime with time zone")] = None,
    end_date: Annotated[Instant | None, Query(description="W3C datetime with time zone")] = None,
    status: Annotated[list[str], Query(description="comma-delimited: open, closed")] = [],  # noqa: B006
) -> list[ServiceRequest]:
    async with pool.acquire() as connection:
        await _check_jurisdiction(connection, jurisdiction_id)
    ids = _commas(service_request_id)
    if ids:
        return await _render(pool, (await search.cases_by_id(pool, ids))[:MAX_REQUESTS])
    reported_from, reported_to = _period(start_date, end_date)
    statuses = _commas(status)
    unknown = [value for value in statuses if value not in ("open", "closed")]
    if unknown:
        raise ApiError(400, N_("status must be open or closed, not %(given)s"), params={"given": ", ".join(unknown)})
    codes = _commas(service_code)
    invalid = [code for code in codes if not _is_code(code)]
    if invalid:
        raise ApiError(
            400, N_("service_code %(given)s is not a service code"), params={"given": ", ".join(map(repr, invalid))}
        )
    query = CaseFilter(
        status=[s for value in set(statuses) for s in (OPEN if value == "open" else CLOSED)],
        category=codes,
        reported_from=reported_from,
        reported_to=reported_to,
        sort=CaseSort.NEWEST,
        limit=MAX_REQUESTS,
    )
    return await _render(pool, (await search.search_cases(pool, query)).items)


@router.get(
    "/requests/{service_request_id}.json",
    response_model=list[ServiceRequest],
    responses=_ERRORS,
    summary="GET Service Request",
    dependencies=[access.Public],
)
async def request(
    service_request_id: str, client: TemporalClient, pool: DbPool, jurisdiction_id: JurisdictionId = None
) -> list[ServiceRequest]:
    async with pool.acquire() as connection:
        await _check_jurisdiction(connection, jurisdiction_id)
    not_found = ApiError(404, N_("service_request_id %(code)s not found"), params={"code": service_request_id})
    if not _CASE_ID.fullmatch(service_request_id):
        raise not_found
    try:  # the full view has the place and photos too, and the workflow answers before the first projection lands
        found: list[CaseSummary] = [await calls.case_view(client, pool, service_request_id)]
    except ApiError as error:
        # Temporal unreachable, or a case closed and deleted before the read model kept full views
        found = await search.cases_by_id(pool, [service_request_id])
        if not found:
            raise (not_found if error.status_code == 404 else error) from None
    return await _render(pool, found)
