"""Signing in to the web pages as a person: same words for every failure, lock-out, disabled accounts and
their sessions, an administrator's reset, sign-out, the cookie's flags, and the person named in the timeline."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from activities import people
from api.sessions import COOKIE
from schemas.keys import Role
from tests.api.conftest import bearer
from tests.api.test_cases_api import report
from tests.people import person
from tests.waiting import HTTP_TIMEOUT, eventually

ENGLISH = {"Accept-Language": "en"}


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="alert">([^<]*)<', page.text)
    assert found, page.text
    return found.group(1)


async def attempt(http: httpx.AsyncClient, account: str, password: str, **fields) -> httpx.Response:
    return await http.post(
        "/signin", data={"account": account, "password": password, **fields}, headers=ENGLISH, cookies={}
    )


async def test_every_failure_says_the_same_and_five_lock_the_account(http, database_url, pool):
    who = await person(database_url, "HP-CENTRE", Role.SUPERVISOR)
    wrong = await attempt(http, who.account, "not the password")
    unknown = await attempt(http, f"nobody-{uuid.uuid4().hex[:6]}", "not the password")
    assert (wrong.status_code, alert(wrong)) == (401, "wrong account or password")
    assert (unknown.status_code, alert(unknown)) == (401, alert(wrong))
    assert COOKIE not in wrong.cookies

    for _ in range(3):
        assert alert(await attempt(http, who.account, "not the password")) == "wrong account or password"
    locked = await attempt(http, who.account, "still not it")  # the fifth in a row
    assert alert(locked).startswith("too many failed sign-ins: the account is locked until ")
    right_but_locked = await attempt(http, who.account, who.password)
    assert (right_but_locked.status_code, alert(right_but_locked)) == (401, alert(locked))

    nobody = f"nobody-{uuid.uuid4().hex[:6]}"  # an unknown account locks alike: no telling which exist
    for _ in range(4):
        await attempt(http, nobody, "guess")
    assert alert(await attempt(http, nobody, "guess")) == alert(locked).replace(who.account, nobody)

    await pool.execute(
        "UPDATE sign_in_failures SET locked_until = $2 WHERE account = $1",
        who.account,
        datetime.now(UTC) - timedelta(seconds=1),
    )  # fifteen minutes later
    signed_in = await attempt(http, who.account, who.password)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/dashboard/")


async def test_cookie_is_httponly_lax_expiring_and_secure_over_https(http, database_url, pool):
    who = await person(database_url, "HP-CENTRE", Role.SUPERVISOR)
    signed_in = await attempt(http, who.account, who.password)
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    flags = {flag.strip().split("=")[0].lower(): flag.strip() for flag in cookie.split(";")[1:]}
    assert flags["httponly"] and flags["samesite"].lower() == "samesite=lax"
    assert (flags["max-age"], flags["path"]) == ("Max-Age=86400", "Path=/")
    assert "secure" not in flags  # plain http (WHISTLE_SECURE_COOKIES would add it behind a TLS proxy)
    async with httpx.AsyncClient(
        timeout=HTTP_TIMEOUT, transport=http._transport, base_url="https://whistle.test"
    ) as https:
        secure = await https.post("/signin", data={"account": who.account, "password": who.password})
    assert "secure" in secure.headers["set-cookie"].lower()
    session = signed_in.cookies[COOKIE]
    assert not await pool.fetchval("SELECT 1 FROM sessions WHERE id_hash = $1", session)  # only its hash is


async def test_sign_out_revokes_the_session(http, database_url):
    who = await person(database_url, "HP-CENTRE", Role.SUPERVISOR)
    page = await http.get("/dashboard/overdue", cookies=who.cookies)
    assert page.status_code == 200 and who.name in page.text
    out = await http.post("/signout", cookies=who.cookies)
    assert (out.status_code, out.headers["location"]) == (303, "/signin")
    assert f'{COOKIE}=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    replayed = await http.get("/dashboard/overdue", cookies=who.cookies)  # the old cookie kept by someone
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/signin?next=/dashboard/overdue")


async def test_a_disabled_person_is_signed_out_and_cannot_sign_in(http, database_url, pool):
    who = await person(database_url, "HP-CENTRE", Role.SUPERVISOR)
    assert (await http.get("/dashboard/overdue", cookies=who.cookies)).status_code == 200
    async with pool.acquire() as connection:
        await people.disable(connection, who.account)
    assert (await http.get("/dashboard/overdue", cookies=who.cookies)).status_code == 303
    refused = await attempt(http, who.account, who.password)
    assert (refused.status_code, alert(refused)) == (401, "wrong account or password")


async def test_after_a_reset_the_person_chooses_a_new_password(http, database_url, pool):
    who = await person(database_url, "HP-CENTRE", Role.SUPERVISOR)
    async with pool.acquire() as connection:
        issued = await people.reset(connection, who.account)
    assert (await http.get("/dashboard/overdue", cookies=who.cookies)).status_code == 303  # sessions ended
    assert alert(await attempt(http, who.account, who.password)) == "wrong account or password"

    signed_in = await attempt(http, who.account, issued.password, next="/dashboard/overdue")
    assert signed_in.headers["location"] == "/signin/password?next=/dashboard/overdue"
    cookies = {COOKIE: signed_in.cookies[COOKIE]}
    held = await http.get("/dashboard/", cookies=cookies)  # no page before a password of one's own
    assert held.headers["location"] == "/signin/password?next=/dashboard/"
    form = await http.get("/signin/password?next=/dashboard/overdue", cookies=cookies, headers=ENGLISH)
    assert form.status_code == 200 and who.name in form.text

    async def choose(password: str, repeated: str) -> httpx.Response:
        data = {"password": password, "repeated": repeated, "next": "/dashboard/overdue"}
        return await http.post("/signin/password", data=data, cookies=cookies, headers=ENGLISH)

    assert alert(await choose("long enough 1", "long enough 2")) == "The two passwords differ."
    assert alert(await choose("short", "short")) == "a password needs at least 10 characters"
    chosen = await choose("my own password", "my own password")
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/dashboard/overdue")
    assert (await http.get("/dashboard/overdue", cookies=cookies)).status_code == 200
    assert (await attempt(http, who.account, "my own password")).status_code == 303
    assert alert(await attempt(http, who.account, issued.password)) == "wrong account or password"


async def test_next_stays_on_this_site_and_people_land_by_role(http, database_url):
    supervisor = await person(database_url, "HP-CENTRE", Role.SUPERVISOR)
    clerk = await person(database_url, "HP-DF", Role.STREET)
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        landed = await attempt(http, supervisor.account, supervisor.password, next=elsewhere)
        assert landed.headers["location"] == "/dashboard/"
    assert (await attempt(http, clerk.account, clerk.password)).headers["location"] == "/work/"
    refused = await http.get("/dashboard/", cookies=clerk.cookies, headers=ENGLISH)  # no SUPERVISE right
    assert refused.status_code == 403 and "SUPERVISE" in refused.text


async def test_a_supervision_names_the_signed_in_person_and_account(http, database_url, api_keys, categories):
    case = await report(http, next(categories))
    who = await person(database_url, "HP-CENTRE", Role.SUPERVISOR, name="王督办")
    form = await http.get(f"/dashboard/cases/{case['case_id']}", cookies=who.cookies)
    key = re.search(r'name="form_key" value="([0-9a-f]{32})"', form.text).group(1)
    done = await http.post(
        f"/dashboard/cases/{case['case_id']}/supervise",
        data={"reason": "居民反映多日无人处理", "action": "URGE", "form_key": key},
        cookies=who.cookies,
    )
    assert done.status_code == 303, done.text

    async def supervised() -> list[dict]:
        view = await http.get(f"/v1/supervisor/cases/{case['case_id']}", headers=bearer(api_keys["centre"]))
        assert view.status_code == 200, view.text
        return [event for event in view.json()["timeline"] if event["kind"] == "SUPERVISED"]

    [event] = await eventually(supervised, what="the supervision in the timeline")
    assert (event["actor"], event["details"]["person"], event["details"]["account"]) == (
        "HP-CENTRE",
        "王督办",
        who.account,
    )
    page = await http.get(f"/dashboard/cases/{case['case_id']}", cookies=who.cookies)
    assert "（王督办）" in page.text
