"""Signing in and out of the web pages: `/signin` (account and password), `/signin/password` (a person with a
one-time password from an administrator chooses their own), `/signout`. Sessions and their cookie:
api/sessions.py; people, passwords and lock-out: activities/people.py."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from activities import people
from api import access, sessions
from api.dependencies import DbPool
from api.pages import templates
from api.wording import say
from i18n.language import _
from schemas.messages import Invalid
from schemas.people import MIN_PASSWORD

router = APIRouter(include_in_schema=False)
_CHOOSING = access.declared(access.SIGNED_IN)  # a person with a one-time password, checked by each route

Next = Annotated[str | None, Query(max_length=2000)]
NextField = Annotated[str | None, Form(max_length=2000)]
Password = Annotated[str, Form(min_length=1, max_length=200)]


def _page(request: Request, step: str, next_path: str | None, status_code: int = 200, **context) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "signin.html",
        {
            "caller": None,
            "step": step,
            "next": sessions.same_site(next_path),
            "min_password": MIN_PASSWORD,
            "here": request.url.remove_query_params("lang"),
            **context,
        },
        status_code=status_code,
    )


@router.get(sessions.SIGNIN, dependencies=[access.Public])
async def signin_form(request: Request, pool: DbPool, next: Next = None) -> Response:
    person = await sessions.current_person(request, pool)
    if person is not None and not person.must_change_password:
        return RedirectResponse(sessions.same_site(next) or sessions.home(person.role), status_code=303)
    return _page(request, "signin", next)


@router.post(sessions.SIGNIN, dependencies=[access.Public])
async def signin(
    request: Request,
    pool: DbPool,
    account: Annotated[str, Form(min_length=1, max_length=100)],
    password: Password,
    next: NextField = None,
) -> Response:
    async with pool.acquire() as connection:
        try:
            person = await people.verify(connection, account, password)
        except people.SignInRefused as refused:
            return _page(request, "signin", next, 401, account=account, error=say(refused.words))
        session_id = await people.open_session(connection, person.account)
    if person.must_change_password:
        target = sessions.PASSWORD + (f"?next={quote(next)}" if sessions.same_site(next) else "")
    else:
        target = sessions.same_site(next) or sessions.home(person.role)
    response = RedirectResponse(target, status_code=303)
    sessions.start(request, response, session_id)
    return response


@router.get(sessions.PASSWORD, dependencies=[_CHOOSING])
async def password_form(request: Request, pool: DbPool, next: Next = None) -> Response:
    person = await sessions.current_person(request, pool)
    if person is None:
        return RedirectResponse(sessions.SIGNIN, status_code=303)
    return _page(request, "password", next, person=person)


@router.post(sessions.PASSWORD, dependencies=[_CHOOSING])
async def choose_password(
    request: Request, pool: DbPool, password: Password, repeated: Password, next: NextField = None
) -> Response:
    person = await sessions.current_person(request, pool)
    if person is None:
        return RedirectResponse(sessions.SIGNIN, status_code=303)
    if password != repeated:
        return _page(request, "password", next, 422, person=person, error=_("The two passwords differ."))
    async with pool.acquire() as connection:
        try:
            await people.set_password(connection, person.account, password)
        except Invalid as refused:
            return _page(request, "password", next, 422, person=person, error=say(refused.words))
    return RedirectResponse(sessions.same_site(next) or sessions.home(person.role), status_code=303)


@router.post("/signout", dependencies=[access.Public])
async def signout(request: Request, pool: DbPool) -> Response:
    session_id = request.cookies.get(sessions.COOKIE)
    if session_id:
        async with pool.acquire() as connection:
            await people.close_session(connection, session_id)
    response = RedirectResponse(sessions.SIGNIN, status_code=303)
    sessions.end(response)
    return response
