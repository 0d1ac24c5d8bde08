"""The delivery loop the worker process runs: claims due outbox rows and sends them through a channel.

A batch is claimed with `FOR UPDATE SKIP LOCKED` and marked delivered (or failed, with its back-off)
in the same transaction, so several workers never send a row twice and a delivered row stays
delivered across restarts. A crash after a send but before the commit resends that row once the lock
is released: webhook receivers deduplicate on the notification id (`X-Whistle-Id`).

Routing: the recipient's own webhook subscription, else the `*` subscription, else the log channel.

PostgreSQL stopping or restarting only pauses the loop: a database failure is logged once, retried
with a growing pause, and logged again when delivery resumes.
"""

import asyncio
from datetime import timedelta
from typing import Protocol

import asyncpg
import httpx
import structlog
from pydantic import BaseModel

from activities.notifications import Notification
from activities.webhooks import ANY_ORG, Subscription, WebhookChannel

log = structlog.get_logger(__name__)

_CLAIM = f"""
    SELECT n.case_id, n.seq, n.recipient, n.topic, n.level, n.occurred_at, n.payload, n.attempts,
           s.org AS subscription_org, s.url, s.secret
      FROM notifications n
      LEFT JOIN LATERAL (
            SELECT org, url, secret FROM webhook_subscriptions
             WHERE org IN (split_part(n.recipient, ':', 1), '{ANY_ORG}')
             ORDER BY org = '{ANY_ORG}'
             LIMIT 1) s ON true
     WHERE n.delivered_at IS NULL AND n.next_attempt_at <= clock_timestamp()
     ORDER BY n.next_attempt_at
     LIMIT $1
       FOR UPDATE OF n SKIP LOCKED
"""
_DELIVERED = """
    UPDATE notifications SET delivered_at = clock_timestamp(), attempts = attempts + 1, channel = $4
     WHERE case_id = $1 AND seq = $2 AND recipient = $3
"""
_FAILED = """
    UPDATE notifications
       SET attempts = attempts + 1, last_error = $4, next_attempt_at = clock_timestamp() + $5::interval
     WHERE case_id = $1 AND seq = $2 AND recipient = $3
"""


class DeliveryChannel(Protocol):
    name: str

    async def send(self, notification: Notification, subscription: Subscription | None) -> None:
        """Deliver or raise; the exception's message becomes the row's last_error."""


class LogChannel:
    """The default: one structured log line per notification (no reporter details ever reach it)."""

    name = "log"

    async def send(self, notification: Notification, subscription: Subscription | None) -> None:
        log.info(
            "notification",
            notification_id=notification.id,
            case_id=notification.case_id,
            workflow_id=f"case-{notification.case_id}",
            level=notification.level,
            recipient=notification.recipient,
            topic=notification.topic,
            text=notification.payload.get("text"),
        )


class Backoff(BaseModel):
    """Retry a failed delivery after `initial`, doubling up to `maximum`; it keeps trying until delivered."""

    initial: timedelta = timedelta(seconds=5)
    maximum: timedelta = timedelta(minutes=30)

    def after(self, attempts: int) -> timedelta:
        return min(self.initial * 2 ** max(attempts - 1, 0), self.maximum)


# What a lost or restarting database raises: a connection lost mid-query is detached from its pool
# proxy (InterfaceError "released back to the pool"), and one cut at the wrong moment can be left in
# an impossible protocol state (InternalClientError); the pool replaces such connections on release.
DATABASE_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)


class DeliveryLoop:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        default: DeliveryChannel | None = None,
        backoff: Backoff = Backoff(),
        outage: Backoff = Backoff(initial=timedelta(seconds=1), maximum=timedelta(seconds=10)),
        poll_interval: float = 1.0,
        batch_size: int = 20,
        timeout: float = 10.0,
    ) -> None:
        self._pool = pool
        self._default = default or LogChannel()
        self._backoff = backoff
        self._outage = outage
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._timeout = timeout

    async def run(self) -> None:
        """Deliver until cancelled; a database outage is logged and waited out."""
        failures = 0
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            webhook = WebhookChannel(http)
            while True:
                try:
                    claimed = await self.deliver_due(webhook)
                except DATABASE_FAILURES as error:
                    failures += 1
                    if failures == 1:
                        log.warning("notification delivery paused", error=f"{type(error).__name__}: {error}")
                    await asyncio.sleep(self._outage.after(failures).total_seconds())
                    continue
                if failures:
                    log.info("notification delivery resumed", failed_attempts=failures)
                    failures = 0
                if claimed < self._batch_size:
                    await asyncio.sleep(self._poll_interval)

    async def deliver_due(self, webhook: DeliveryChannel) -> int:
        """Claim one batch of due notifications, send them concurrently, record each outcome."""
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_CLAIM, self._batch_size)
            outcomes = await asyncio.gather(*(self._send(row, webhook) for row in rows))
            for row, (channel, error) in zip(rows, outcomes, strict=True):
                key = (row["case_id"], row["seq"], row["recipient"])
                if error is None:
                    await connection.execute(_DELIVERED, *key, channel)
                    continue
                attempts = row["attempts"] + 1
                retry_in = self._backoff.after(attempts)
                await connection.execute(_FAILED, *key, error, retry_in)
                log.warning(
                    "notification delivery failed",
                    notification_id=":".join(map(str, key)),
                    case_id=row["case_id"],
                    channel=channel,
                    attempts=attempts,
                    retry_in=retry_in.total_seconds(),
                    error=error,
                )
        return len(rows)

    async def _send(self, row: asyncpg.Record, webhook: DeliveryChannel) -> tuple[str, str | None]:
        channel = webhook if row["subscription_org"] else self._default
        try:
            notification = Notification(**{field: row[field] for field in Notification.model_fields})
            subscription = (
                Subscription(org=row["subscription_org"], url=row["url"], secret=row["secret"])
                if row["subscription_org"]
                else None
            )
            await channel.send(notification, subscription)
        except Exception as error:  # any failure (a channel's, a stored row that no longer validates) is retried later
            return channel.name, (str(error) or type(error).__name__)[:500]
        return channel.name, None
