"""People for tests: an account with a password of its own (no one-time password left to change), and its
session cookie or a browser signed in as it."""

import uuid
from dataclasses import dataclass

from activities import people
from activities.db import connect
from api.sessions import COOKIE
from schemas.keys import Role
from schemas.people import NewPerson

PASSWORD = "correct horse battery"


@dataclass
class SignedUp:
    account: str
    name: str
    password: str
    session: str  # a live session's id

    @property
    def cookies(self) -> dict[str, str]:
        return {COOKIE: self.session}


async def person(database_url: str, org: str, role: Role, name: str = "测试员") -> SignedUp:
    """A new person of `org` in `role`, with PASSWORD chosen and a session open."""
    account = f"t-{uuid.uuid4().hex[:10]}"
    connection = await connect(database_url)
    try:
        await people.create(connection, NewPerson(account=account, name=name, org=org, role=role))
        await people.set_password(connection, account, PASSWORD)
        session = await people.open_session(connection, account)
    finally:
        await connection.close()
    return SignedUp(account=account, name=name, password=PASSWORD, session=session)


async def sign_in(page, base_url: str, who: SignedUp) -> None:
    """Sign a Playwright page in through the sign-in form."""
    await page.goto(f"{base_url}/signin")
    await page.fill("input[name=account]", who.account)
    await page.fill("input[name=password]", who.password)
    await page.click("button[type=submit]")
