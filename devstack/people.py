"""The people `whistle dev` signs up: the first administrator, and in the demo district one person per role
of the demo compound HP-DF-QH-1 and above, so a tester signs in as each. Their passwords are random (the
file they are written to is the only copy) and only a development stack, which always holds the demo
district, makes them."""

import os
import secrets
from pathlib import Path

import asyncpg

from activities import people
from schemas.keys import Role
from schemas.people import IssuedPassword, NewPerson

ADMIN_ORG = "HP-CENTRE"  # the demo district's command centre keeps its registry
PEOPLE_FILE = "people.txt"

DEMO_PEOPLE = [
    NewPerson(account="demo-property", name="李物业", org="PM-LVYUAN", role=Role.COUNCIL),
    NewPerson(account="demo-owners", name="张业委", org="OC-HP-DF-QH-1", role=Role.COUNCIL),
    NewPerson(account="demo-community", name="王社区", org="HP-DF-QH", role=Role.COMMUNITY),
    NewPerson(account="demo-street", name="赵街道", org="HP-DF", role=Role.STREET),
    NewPerson(account="demo-xf", name="陈消防", org="XF", role=Role.DEPARTMENT),
    NewPerson(account="demo-centre", name="刘督办", org="HP-CENTRE", role=Role.SUPERVISOR),
]


async def sign_up(connection: asyncpg.Connection, data_dir: Path) -> IssuedPassword | None:
    """The first administrator (its one-time password, when made now), and the demo people missing so far,
    written with their passwords to `<data dir>/people.txt` (readable by its owner only)."""
    admin = await people.first_administrator(connection, ADMIN_ORG)
    made = []
    for new in DEMO_PEOPLE:
        if await connection.fetchval("SELECT 1 FROM people WHERE account = $1", new.account):
            continue
        await people.create(connection, new)
        password = secrets.token_urlsafe(9)
        await people.set_password(connection, new.account, password)  # ready to sign in: no one-time step
        made.append(f"{new.account}\t{password}\t{new.name}\t{new.org}\t{new.role}\n")
    if made:
        file = data_dir / PEOPLE_FILE
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as out:
            out.writelines(made)
    return admin
