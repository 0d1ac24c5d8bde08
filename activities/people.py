"""People and their sessions: accounts of an organisation in a role, argon2 passwords (pwdlib), lock-out after
repeated failures, sessions stored only as hashes of their cookies' random ids.

Every failed sign-in answers in the same words, whether the account exists, is disabled, or the password is
wrong; failures are counted per account as typed, so an unknown account locks out like a real one.
"""

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import asyncpg
from pwdlib import PasswordHash

from schemas.keys import ORG_KINDS, Role
from schemas.messages import N_, Invalid
from schemas.people import MIN_PASSWORD, IssuedPassword, NewPerson, Person, PersonInfo

LOCK_AFTER = 5  # consecutive failed sign-ins of an account …
LOCK_FOR = timedelta(minutes=15)  # … lock it for this long
SESSION_IDLE = timedelta(hours=8)  # a session unused this long ends (a working day)
SESSION_LIMIT = timedelta(hours=24)  # and every session ends this long after sign-in

_hasher = PasswordHash.recommended()  # argon2id with the library's current parameters
# Verified against when the account does not exist, so that answer takes as long as a wrong password.
_NOBODY = _hasher.hash(secrets.token_urlsafe(16))


class PersonRefused(Invalid):
    """An administrator's request about a person cannot be done as asked (the words say why)."""


class SignInRefused(Invalid):
    """A sign-in failed: the same words for an unknown account, a disabled one and a wrong password."""


WRONG = N_("wrong account or password")
UNKNOWN = N_("no person with the account '%(account)s'")
EXISTS = N_("the account '%(account)s' exists already")
LOCKED = N_("too many failed sign-ins: the account is locked until %(at)s")


def _one_time_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 random bits


async def _hash(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)  # argon2 takes tens of ms: off the event loop


async def create(connection: asyncpg.Connection, new: NewPerson) -> IssuedPassword:
    await _check_org(connection, new.org, new.role)
    password = _one_time_password()
    try:
        await connection.execute(
            "INSERT INTO people (account, name, org, role, password_hash) VALUES ($1, $2, $3, $4, $5)",
            new.account,
            new.name,
            new.org,
            new.role,
            await _hash(password),
        )
    except asyncpg.UniqueViolationError:
        raise PersonRefused(EXISTS, account=new.account) from None
    return IssuedPassword(password=password, person=await info(connection, new.account))


async def _check_org(connection: asyncpg.Connection, org: str, role: Role) -> None:
    """The rule keys follow (`ORG_KINDS`): a role belongs to organisations of its kinds."""
    if role not in ORG_KINDS:
        raise PersonRefused(N_("a person cannot have the %(role)s role; intake desks use API keys"), role=role)
    kind = await connection.fetchval("SELECT kind FROM organisations WHERE code = $1", org)
    if kind is None:
        raise PersonRefused(N_("unknown organisation '%(org)s'"), org=org)
    if kind not in ORG_KINDS[role]:
        raise PersonRefused(
            N_("%(org)s is a %(org_kind)s; the %(role)s role is for %(org_kinds)s"),
            org=org,
            org_kind=kind,
            role=role,
            org_kinds=sorted(ORG_KINDS[role]),
        )


_LISTED = """SELECT p.*, CASE WHEN f.locked_until > now() THEN f.locked_until END AS locked_until
               FROM people p LEFT JOIN sign_in_failures f ON f.account = p.account"""


async def info(connection: asyncpg.Connection, account: str) -> PersonInfo:
    row = await connection.fetchrow(f"{_LISTED} WHERE p.account = $1", account)
    if row is None:
        raise PersonRefused(UNKNOWN, account=account)
    return PersonInfo.model_validate(dict(row))


async def listed(connection: asyncpg.Connection, org: str | None = None) -> list[PersonInfo]:
    rows = await connection.fetch(f"{_LISTED} WHERE $1::text IS NULL OR p.org = $1 ORDER BY p.org, p.account", org)
    return [PersonInfo.model_validate(dict(row)) for row in rows]


async def disable(connection: asyncpg.Connection, account: str) -> PersonInfo:
    """The person signs in no more; their open sessions end now."""
    async with connection.transaction():
        done = await connection.execute(
            "UPDATE people SET disabled_at = coalesce(disabled_at, now()) WHERE account = $1", account
        )
        if done == "UPDATE 0":
            raise PersonRefused(UNKNOWN, account=account)
        await _end_sessions(connection, account)
    return await info(connection, account)


async def reset(connection: asyncpg.Connection, account: str) -> IssuedPassword:
    """A new one-time password (the person chooses their own at the next sign-in); lifts a lock-out, ends the
    person's sessions. A disabled person stays disabled."""
    password = _one_time_password()
    async with connection.transaction():
        done = await connection.execute(
            "UPDATE people SET password_hash = $2, must_change_password = true WHERE account = $1",
            account,
            await _hash(password),
        )
        if done == "UPDATE 0":
            raise PersonRefused(UNKNOWN, account=account)
        await connection.execute("DELETE FROM sign_in_failures WHERE account = $1", account)
        await _end_sessions(connection, account)
    return IssuedPassword(password=password, person=await info(connection, account))


async def set_password(connection: asyncpg.Connection, account: str, password: str) -> None:
    """The person's own new password (after a one-time one)."""
    if len(password) < MIN_PASSWORD:
        raise PersonRefused(N_("a password needs at least %(count)s characters"), count=MIN_PASSWORD)
    await connection.execute(
        "UPDATE people SET password_hash = $2, must_change_password = false WHERE account = $1",
        account,
        await _hash(password),
    )


async def verify(
    connection: asyncpg.Connection, account: str, password: str, now: datetime | None = None
) -> PersonInfo:
    """The person whose password this is, or SignInRefused: WRONG for any failure, LOCKED while the typed
    account is locked out (LOCK_AFTER failures in a row lock it for LOCK_FOR)."""
    now = now or datetime.now(UTC)
    account = account.strip().lower()[:100]
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext('sign-in:' || $1))", account)
        failures = await connection.fetchrow("SELECT * FROM sign_in_failures WHERE account = $1", account)
        if failures and failures["locked_until"] and failures["locked_until"] > now:
            raise SignInRefused(LOCKED, at=failures["locked_until"])
        row = await connection.fetchrow(f"{_LISTED} WHERE p.account = $1", account)
        matches = await asyncio.to_thread(_hasher.verify, password, row["password_hash"] if row else _NOBODY)
        if row is not None and matches and row["disabled_at"] is None:
            await connection.execute("DELETE FROM sign_in_failures WHERE account = $1", account)
            return PersonInfo.model_validate(dict(row) | {"locked_until": None})
        # a lock that has run out starts a new count
        count = 1 if failures is None or failures["locked_until"] else failures["failed_attempts"] + 1
        locked_until = now + LOCK_FOR if count >= LOCK_AFTER else None
        await connection.execute(
            """INSERT INTO sign_in_failures (account, failed_attempts, locked_until, last_failed_at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (account) DO UPDATE
                  SET failed_attempts = $2, locked_until = $3, last_failed_at = $4""",
            account,
            count,
            locked_until,
            now,
        )
    if locked_until is not None:
        raise SignInRefused(LOCKED, at=locked_until)
    raise SignInRefused(WRONG)


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(connection: asyncpg.Connection, account: str, now: datetime | None = None) -> str:
    """A new session of the person: its id (the cookie's value), random 32 bytes, stored only as sha256."""
    now = now or datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    await connection.execute(
        "INSERT INTO sessions (id_hash, account, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
        _session_hash(session_id),
        account,
        now,
        now + SESSION_LIMIT,
    )
    return session_id


async def session_person(
    connection: asyncpg.Connection, session_id: str, now: datetime | None = None
) -> PersonInfo | None:
    """The person of a live session (not revoked, not idle for SESSION_IDLE, not past SESSION_LIMIT, the
    person not disabled), marking it used now; None otherwise."""
    now = now or datetime.now(UTC)
    row = await connection.fetchrow(
        """UPDATE sessions s SET last_seen_at = $2 FROM people p
            WHERE s.id_hash = $1 AND p.account = s.account AND p.disabled_at IS NULL AND s.revoked_at IS NULL
              AND s.expires_at > $2 AND s.last_seen_at > $2 - $3::interval
        RETURNING p.*""",
        _session_hash(session_id),
        now,
        SESSION_IDLE,
    )
    return None if row is None else PersonInfo.model_validate(dict(row))


async def close_session(connection: asyncpg.Connection, session_id: str) -> None:
    await connection.execute(
        "UPDATE sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id_hash = $1", _session_hash(session_id)
    )


async def _end_sessions(connection: asyncpg.Connection, account: str) -> None:
    await connection.execute(
        "UPDATE sessions SET revoked_at = now() WHERE account = $1 AND revoked_at IS NULL", account
    )


async def first_administrator(connection: asyncpg.Connection, org: str) -> IssuedPassword | None:
    """The administrator `admin` of `org` with a one-time password, when no administrator exists yet."""
    if await connection.fetchval("SELECT 1 FROM people WHERE role = 'ADMIN' AND disabled_at IS NULL LIMIT 1"):
        return None
    return await create(connection, NewPerson(account="admin", name="管理员", org=org, role=Role.ADMIN))


def as_person(info: PersonInfo) -> Person:
    return Person.model_validate(info.model_dump(include=set(Person.model_fields)))
