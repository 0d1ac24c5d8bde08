"""The API key store: issue, revoke, list, and find the key a request presents. Keys are kept as sha256."""

import hashlib
import secrets

import asyncpg

from schemas.domain import Channel, Code
from schemas.keys import ORG_KINDS, ApiKeyInfo, IssuedKey, Role
from schemas.messages import N_, Invalid

PREFIX = "whk"


class KeyRefused(Invalid):
    """A key cannot be issued or revoked as asked: the English text says why, `words` says it in any language
    (`api.wording.say`)."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def issue(
    connection: asyncpg.Connection, org: Code, role: Role, *, channel: Channel | None = None, label: str | None = None
) -> IssuedKey:
    if role is Role.INTAKE:
        if channel is None or channel is Channel.APP:
            raise KeyRefused(N_("an intake key needs the channel it reports through: HOTLINE, GRID, WINDOW or OPEN311"))
    else:
        if channel is not None:
            raise KeyRefused(N_("only intake keys have a channel; a %(role)s key does not"), role=role)
        kind = await connection.fetchval("SELECT kind FROM organisations WHERE code = $1", org)
        if kind is None:
            raise KeyRefused(N_("unknown organisation '%(org)s'"), org=org)
        if kind not in ORG_KINDS[role]:
            raise KeyRefused(
                N_("%(org)s is a %(org_kind)s; a %(role)s key is for %(org_kinds)s"),
                org=org,
                org_kind=kind,
                role=role,
                org_kinds=sorted(ORG_KINDS[role]),
            )
    key_id = secrets.token_hex(4)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    row = await connection.fetchrow(
        """INSERT INTO api_keys (key_id, key_hash, org, role, channel, label) VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING *""",
        key_id,
        key_hash(key),
        org,
        role,
        channel,
        label,
    )
    return IssuedKey(key=key, info=_info(row))


async def revoke(connection: asyncpg.Connection, key_id: str) -> ApiKeyInfo:
    row = await connection.fetchrow(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1 RETURNING *""", key_id
    )
    if row is None:
        raise KeyRefused(N_("no key with id '%(key)s'"), key=key_id)
    return _info(row)


async def listed(connection: asyncpg.Connection, org: Code | None = None) -> list[ApiKeyInfo]:
    rows = await connection.fetch(
        "SELECT * FROM api_keys WHERE $1::text IS NULL OR org = $1 ORDER BY org, created_at", org
    )
    return [_info(row) for row in rows]


async def find(pool: asyncpg.Pool, key: str) -> tuple[ApiKeyInfo, str | None] | None:
    """The live key presented, with its organisation's jurisdiction (None for an intake desk)."""
    row = await pool.fetchrow(
        """SELECT k.*, o.jurisdiction FROM api_keys k LEFT JOIN organisations o ON o.code = k.org
            WHERE k.key_hash = $1 AND k.revoked_at IS NULL""",
        key_hash(key),
    )
    return None if row is None else (_info(row), row["jurisdiction"])


def _info(row: asyncpg.Record) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row["key_id"],
        org=row["org"],
        role=row["role"],
        channel=row["channel"],
        label=row["label"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
