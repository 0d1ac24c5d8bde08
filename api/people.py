"""People, for administrators (the ADMIN right): list, create, disable, reset. A one-time password is in the
answer to create and reset only, and stored as argon2; the person chooses their own at the first sign-in."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from activities import people
from api.auth import Administrator
from api.dependencies import DbPool
from api.errors import ApiError, FieldError, responses
from schemas.domain import Code
from schemas.people import Account, IssuedPassword, NewPerson, PersonInfo

router = APIRouter(prefix="/v1/people", tags=["administrators"])

AccountPath = Annotated[Account, Path(description="the person's account")]


def _refusal(refused: people.PersonRefused) -> ApiError:
    words = refused.words
    if words.template == people.UNKNOWN:
        return ApiError(404, words.template, params=words.params)
    if words.template == people.EXISTS:
        return ApiError(409, words.template, params=words.params)
    return FieldError(("body",), words.template, "person_refused", params=words.params)


@router.get("", response_model=list[PersonInfo], responses=responses(401, 403, 503), summary="People, by organisation")
async def listed(caller: Administrator, pool: DbPool, org: Annotated[Code | None, Query()] = None) -> list[PersonInfo]:
    async with pool.acquire() as connection:
        return await people.listed(connection, org)


@router.post(
    "",
    status_code=201,
    response_model=IssuedPassword,
    responses={**responses(401, 403, 503), **responses(409, meaning={409: "the account exists already"})},
    summary="Create a person; the answer holds their one-time password (shown this once)",
)
async def create(caller: Administrator, pool: DbPool, body: NewPerson) -> IssuedPassword:
    async with pool.acquire() as connection:
        try:
            return await people.create(connection, body)
        except people.PersonRefused as refused:
            raise _refusal(refused) from None


@router.post(
    "/{account}/disable",
    response_model=PersonInfo,
    responses=responses(401, 403, 404, 503),
    summary="Disable a person: no more sign-in, open sessions end",
)
async def disable(caller: Administrator, pool: DbPool, account: AccountPath) -> PersonInfo:
    async with pool.acquire() as connection:
        try:
            return await people.disable(connection, account)
        except people.PersonRefused as refused:
            raise _refusal(refused) from None


@router.post(
    "/{account}/reset",
    response_model=IssuedPassword,
    responses=responses(401, 403, 404, 503),
    summary="A new one-time password (shown this once); ends the person's sessions, lifts a lock-out",
)
async def reset(caller: Administrator, pool: DbPool, account: AccountPath) -> IssuedPassword:
    async with pool.acquire() as connection:
        try:
            return await people.reset(connection, account)
        except people.PersonRefused as refused:
            raise _refusal(refused) from None
