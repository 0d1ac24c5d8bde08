"""People: who signs in to the web pages. A person belongs to one organisation in one of the key roles
(`schemas.keys.Role`; the same organisation kinds per role as keys, `ORG_KINDS`), so the rights of a signed-in
person are those of a key of that organisation and role."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, StringConstraints

from schemas.domain import Code, Name
from schemas.keys import Role

# What a person types to sign in: lower-case letters, digits and . _ - (an employee number, a pinyin name).
Account = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,39}$"),
    BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
]
MIN_PASSWORD = 10  # characters of a password a person chooses


class Person(BaseModel):
    """A signed-in person, as a request sees them."""

    account: Account
    name: Name
    org: Code
    role: Role


class PersonInfo(Person):
    """A person as listed for administrators: never the password or its hash."""

    disabled_at: datetime | None = None
    locked_until: datetime | None = None
    must_change_password: bool = False
    created_at: datetime


class NewPerson(Person):
    """What an administrator gives to create an account."""


class IssuedPassword(BaseModel):
    """A one-time password, shown this once and stored only as an argon2 hash; the person sets their own at
    their first sign-in."""

    password: str
    person: PersonInfo
