"""Registry administrators (an ADMIN key): the city's registry as a city file, edits of its organisations,
categories, routing and SLA policies, retirement, and the audit of every change with who made it.

An edit is applied to the whole registry and checked as an import is, so it cannot leave a category unrouted or
a routing naming a department the district lacks. Running cases keep the context they started with.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from activities import calendars, registry_edits
from activities.city_file import InvalidCity
from activities.registry_edits import Actor, EditRefused, RetireRefused
from api.auth import Administrator, Principal
from api.dependencies import DbPool
from api.errors import ApiError, FieldError, responses
from schemas.calendar import Day
from schemas.domain import Code, ShortText
from schemas.messages import N_
from schemas.policy import SlaPolicy
from schemas.registry import (
    CategoryEdit,
    ChangeVia,
    City,
    DistrictRouting,
    OrganisationEdit,
    RecordedChange,
    RegistryChange,
    RegistryPart,
)

router = APIRouter(prefix="/v1/registry", tags=["registry"])


class RetireRefusal(BaseModel):
    detail: str
    cases: list[str]  # the open cases that reference it
    references: list[str]  # where the registry itself still names it


_EDIT_ERRORS = responses(401, 403, 503)
_RETIRE_ERRORS = {
    **responses(401, 403, 503),
    **responses(409, model=RetireRefusal, meaning={409: "open cases or the registry still reference it"}),
}
CodePath = Annotated[Code, Path(description="the code of the organisation or category")]


def _actor(caller: Principal) -> Actor:
    return Actor(name=caller.org, via=ChangeVia.API, key_id=caller.key_id)


async def _amend(pool: DbPool, caller: Principal, edit: Any) -> list[RegistryChange]:
    async with pool.acquire() as connection:
        try:
            return await registry_edits.amend(connection, edit, _actor(caller))
        except EditRefused as refused:
            raise FieldError(("body",), str(refused), "registry_refused") from None
        except InvalidCity as invalid:
            raise RequestValidationError(
                [
                    {"type": "registry_invalid", "loc": ["registry", *problem.path], "msg": problem.message}
                    for problem in invalid.problems
                ]
            ) from None


@router.get("", response_model=City, responses=responses(401, 403, 503), summary="The registry as a city file")
async def city(caller: Administrator, pool: DbPool) -> City:
    async with pool.acquire() as connection:
        return await registry_edits.export_city(connection)


@router.get(
    "/changes",
    response_model=list[RecordedChange],
    responses=responses(401, 403, 503),
    summary="Changes to the registry, newest first, with who made them",
)
async def changes(
    caller: Administrator,
    pool: DbPool,
    part: RegistryPart | None = None,
    key: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RecordedChange]:
    async with pool.acquire() as connection:
        return await registry_edits.changes(connection, part=part, key=key, limit=limit)


@router.put(
    "/organisations",
    response_model=list[RegistryChange],
    responses=_EDIT_ERRORS,
    summary="Add a district's department, property company, or change one's names (and a department's duties)",
)
async def organisation(body: OrganisationEdit, caller: Administrator, pool: DbPool) -> list[RegistryChange]:
    return await _amend(pool, caller, registry_edits.with_organisation(body))


@router.put(
    "/categories",
    response_model=list[RegistryChange],
    responses=_EDIT_ERRORS,
    summary="Add or change a category; a new one names its routing in every district",
)
async def category(body: CategoryEdit, caller: Administrator, pool: DbPool) -> list[RegistryChange]:
    return await _amend(pool, caller, registry_edits.with_category(body))


@router.put(
    "/routing",
    response_model=list[RegistryChange],
    responses=_EDIT_ERRORS,
    summary="Set the departments a category summons in one district",
)
async def routing(body: DistrictRouting, caller: Administrator, pool: DbPool) -> list[RegistryChange]:
    return await _amend(pool, caller, registry_edits.with_routing(body))


@router.put(
    "/policies",
    response_model=list[RegistryChange],
    responses=_EDIT_ERRORS,
    summary="Add or change an SLA policy; running cases keep the one they started with",
)
async def policy(body: SlaPolicy, caller: Administrator, pool: DbPool) -> list[RegistryChange]:
    return await _amend(pool, caller, registry_edits.with_policy(body))


async def _retire(pool: DbPool, caller: Principal, part: RegistryPart, code: str) -> RegistryChange | JSONResponse:
    async with pool.acquire() as connection:
        try:
            return await registry_edits.retire(connection, part, code, _actor(caller))
        except EditRefused as refused:
            raise FieldError(("path", "code"), str(refused), "registry_refused") from None
        except RetireRefused as refused:
            refusal = RetireRefusal(detail=str(refused), cases=refused.cases, references=refused.references)
            return JSONResponse(status_code=409, content=refusal.model_dump())


@router.post(
    "/organisations/{code}/retire",
    response_model=RegistryChange,
    responses=_RETIRE_ERRORS,
    summary="Retire a department or property company that nothing open references",
)
async def retire_organisation(code: CodePath, caller: Administrator, pool: DbPool) -> Any:
    return await _retire(pool, caller, RegistryPart.ORGANISATION, code)


@router.post(
    "/categories/{code}/retire",
    response_model=RegistryChange,
    responses=_RETIRE_ERRORS,
    summary="Retire a category that no open case has",
)
async def retire_category(code: CodePath, caller: Administrator, pool: DbPool) -> Any:
    return await _retire(pool, caller, RegistryPart.CATEGORY, code)


class DayOverride(Day):
    """What a date of a calendar is, over its week and its seed: a rest day (no hours) or a working day."""

    reason: ShortText


class OverriddenDay(DayOverride):
    calendar: Code
    day: date
    by: str


CalendarPath = Annotated[Code, Path(description="the calendar's code (the city's: CN)")]


async def _calendar_day(pool: DbPool, code: str, change) -> None:
    async with pool.acquire() as connection:
        try:
            await change(connection)
        except calendars.UnknownCalendar:
            raise ApiError(404, N_("calendar %(code)s not found"), params={"code": code}) from None


@router.put(
    "/calendars/{code}/days/{day}",
    response_model=OverriddenDay,
    responses=responses(401, 403, 404, 503),
    summary="Say what a date is (a rest day, or a working day with its hours); running cases keep their calendar",
)
async def override_day(
    code: CalendarPath, day: date, body: DayOverride, caller: Administrator, pool: DbPool
) -> OverriddenDay:
    override = Day(hours=body.hours, holiday=body.holiday)
    await _calendar_day(
        pool,
        code,
        lambda connection: calendars.override_day(connection, code, day, override, by=caller.org, reason=body.reason),
    )
    return OverriddenDay(**body.model_dump(), calendar=code, day=day, by=caller.org)


@router.delete(
    "/calendars/{code}/days/{day}",
    status_code=204,
    responses=responses(401, 403, 404, 503),
    summary="Give a date back to the seed (the State Council's notice) or to the week",
)
async def clear_day(code: CalendarPath, day: date, caller: Administrator, pool: DbPool) -> None:
    await _calendar_day(pool, code, lambda connection: calendars.clear_override(connection, code, day))
