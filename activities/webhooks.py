"""Signed webhooks: per-organisation subscriptions and the channel that POSTs notifications to them.

Each POST carries the JSON notification as its body and three headers:
`X-Whistle-Id` (case_id:seq:recipient, the same on every retry: deduplicate on it),
`X-Whistle-Timestamp` (Unix seconds) and
`X-Whistle-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
"""

import hashlib
import hmac
import json
import time
from typing import Annotated

import asyncpg
import httpx
from pydantic import BaseModel, HttpUrl, StringConstraints

from activities.notifications import Notification

ID_HEADER = "X-Whistle-Id"
TIMESTAMP_HEADER = "X-Whistle-Timestamp"
SIGNATURE_HEADER = "X-Whistle-Signature"
ANY_ORG = "*"


SubscriberCode = Annotated[str, StringConstraints(pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,39})$")]


class Subscription(BaseModel):
    org: SubscriberCode  # an organisation code, "resident" (the residents' notifications) or "*" (the rest)
    url: HttpUrl
    secret: Annotated[str, StringConstraints(min_length=16, max_length=256)]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300) -> bool:
    """For receivers: the signature matches and the timestamp is within `tolerance` seconds of now."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    fresh = abs(time.time() - sent) <= tolerance
    return fresh and hmac.compare_digest(sign(secret, sent, body), signature)


def encode(notification: Notification) -> bytes:
    return json.dumps(notification.body(), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel:
    """POSTs one notification; any non-2xx answer or transport error is a failure to retry."""

    name = "webhook"

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def send(self, notification: Notification, subscription: Subscription | None) -> None:
        assert subscription is not None
        body = encode(notification)
        timestamp = int(time.time())
        response = await self._http.post(
            str(subscription.url),
            content=body,
            headers={
                "Content-Type": "application/json",
                ID_HEADER: notification.id,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
            },
        )
        if not response.is_success:
            raise RuntimeError(f"HTTP {response.status_code} from {subscription.url}")


async def subscribe(connection: asyncpg.Connection, subscription: Subscription) -> None:
    """Add or replace the organisation's subscription."""
    await connection.execute(
        """INSERT INTO webhook_subscriptions (org, url, secret) VALUES ($1, $2, $3)
           ON CONFLICT (org) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, created_at = now()""",
        subscription.org,
        str(subscription.url),
        subscription.secret,
    )


async def unsubscribe(connection: asyncpg.Connection, org: str) -> bool:
    return await connection.fetchval("DELETE FROM webhook_subscriptions WHERE org = $1 RETURNING true", org) or False


async def subscriptions(connection: asyncpg.Connection) -> list[Subscription]:
    rows = await connection.fetch("SELECT org, url, secret FROM webhook_subscriptions ORDER BY org")
    return [Subscription(**dict(row)) for row in rows]
