"""Signed-in people: the session cookie and the `SignedIn` dependency of the web pages.

The cookie `whistle_session` holds a session id of 32 random bytes; the server keeps only its sha256 with the
session (activities/people.py), so the id is unguessable and a leaked table opens nothing. It is not signed:
a signature protects what a client holds from being altered, and this client holds nothing but the secret
itself, looked up on every request (which is also what lets sign-out, a disabled account or an administrator's
reset end a session at once). HttpOnly (no script reads it), SameSite=Lax (another site's form posts arrive
without it, so forms need no extra CSRF token; each form also carries a one-use key, so a resubmission acts
once), Secure when the request is https or WHISTLE_SECURE_COOKIES is set (TLS ended at a proxy). A session
ends after 8 hours unused or 24 hours after sign-in; the cookie's Max-Age is the 24 hours.
"""

from typing import Annotated
from urllib.parse import quote

import asyncpg
from fastapi import Depends, HTTPException, Request, Response

from activities import people
from api import access
from api.auth import Principal, check_right
from api.dependencies import DbPool
from schemas.keys import Right, Role
from schemas.people import PersonInfo

COOKIE = "whistle_session"
SIGNIN = "/signin"
PASSWORD = "/signin/password"  # where a person with a one-time password chooses their own
SUPERVISORS_HOME = "/dashboard/"
HOME = "/work/"  # the inbox


def home(role: Role) -> str:
    """Where a person lands after signing in."""
    return SUPERVISORS_HOME if role is Role.SUPERVISOR else HOME


def same_site(target: str | None) -> str | None:
    """`target` if it is a path of this site (so `next=` cannot send a person elsewhere), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def start(request: Request, response: Response, session_id: str) -> None:
    secure = request.app.state.settings.secure_cookies or request.url.scheme == "https"
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(people.SESSION_LIMIT.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


async def current_person(request: Request, pool: asyncpg.Pool) -> PersonInfo | None:
    """The person of the request's live session, or None."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    async with pool.acquire() as connection:
        return await people.session_person(connection, session_id)


async def principal_of(pool: asyncpg.Pool, person: PersonInfo) -> Principal:
    jurisdiction = await pool.fetchval("SELECT jurisdiction FROM organisations WHERE code = $1", person.org)
    return Principal(org=person.org, role=person.role, jurisdiction=jurisdiction, person=people.as_person(person))


def _go(path: str, request: Request) -> HTTPException:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(303, headers={"Location": f"{path}?next={quote(here)}"})


async def signed_in(request: Request, pool: DbPool) -> Principal:
    """The signed-in person, or off to the sign-in page (then back here); a person still holding a one-time
    password chooses their own first."""
    person = await current_person(request, pool)
    if person is None:
        raise _go(SIGNIN, request)
    if person.must_change_password:
        raise _go(PASSWORD, request)
    return await principal_of(pool, person)


SignedIn = Annotated[Principal, Depends(access.declare(access.SIGNED_IN, signed_in))]


def signed_in_with(right: Right):
    """A dependency: the signed-in person, whose role holds `right` (403 otherwise)."""

    async def dependency(principal: SignedIn) -> Principal:
        check_right(principal, right)
        return principal

    return access.declare(access.page(right), dependency)
