"""Abuse limits: every request body is capped before it is read, and what anyone may send without an API key
(a resident's report, a photo upload) is rate limited per client address and per phone number.

Rate limits count in slowapi's limiter (the `limits` library: a moving window, in memory or in the storage the
settings name). The client address is the connection's, or the one a trusted proxy forwards (uvicorn's
`--forwarded-allow-ips`). A refusal is a 429 saying when to try again, with `Retry-After`.
"""

import math
import time
from collections.abc import Iterable
from datetime import timedelta

from fastapi import Request
from limits import RateLimitItem, parse_many
from slowapi import Limiter
from slowapi.util import get_remote_address
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.errors import ApiError
from client.settings import Settings
from i18n.language import _
from i18n.spans import span

MAX_BODY = 1024 * 1024  # any JSON or form body: a report's longest description is 4,000 characters


class RateLimits:
    """The limits of one API application (`app.state.rate_limits`)."""

    def __init__(self, settings: Settings) -> None:
        self.limiter = Limiter(
            key_func=get_remote_address, storage_uri=settings.rate_limit_storage, strategy="moving-window"
        )
        self.report = parse_many(settings.report_rate_limit)
        self.phone = parse_many(settings.phone_rate_limit)
        self.upload = parse_many(settings.upload_rate_limit)

    def hit(self, items: Iterable[RateLimitItem], scope: str, key: str, refusal: str) -> None:
        for item in items:
            if not self.limiter.limiter.hit(item, scope, key):
                reset_at, _remaining = self.limiter.limiter.get_window_stats(item, scope, key)
                wait = max(1, math.ceil(reset_at - time.time()))
                window = span(timedelta(seconds=item.get_expiry()))
                raise ApiError(
                    429,
                    refusal % {"amount": item.amount, "window": window, "wait": span(timedelta(seconds=wait))},
                    headers={"Retry-After": str(wait)},
                )


def _limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


def report_limit(request: Request, phone: str | None) -> None:
    """A report without an API key: per client address, and per phone number when it gives one."""
    limits = _limits(request)
    limits.hit(
        limits.report,
        "report-address",
        get_remote_address(request),
        _("Too many reports from this address: at most %(amount)s in %(window)s. Try again in %(wait)s."),
    )
    if phone:
        limits.hit(
            limits.phone,
            "report-phone",
            "".join(ch for ch in phone if ch.isdigit()),
            _("Too many reports with this phone number: at most %(amount)s in %(window)s. Try again in %(wait)s."),
        )


async def upload_limit(request: Request) -> None:
    limits = _limits(request)
    limits.hit(
        limits.upload,
        "upload-address",
        get_remote_address(request),
        _("Too many photo uploads from this address: at most %(amount)s in %(window)s. Try again in %(wait)s."),
    )


class _TooLarge(Exception):
    pass


class BodyLimit:
    """413 for a body over its path's limit: at once when Content-Length says so, else as soon as the bytes
    received pass it (a chunked upload is never read to its end)."""

    def __init__(self, app: ASGIApp, larger: dict[str, int]) -> None:
        self.app = app
        self.larger = larger  # path (or, ending in "/", every path under it) -> limit, for uploads

    def _limit(self, path: str) -> int:
        if path in self.larger:
            return self.larger[path]
        under = [limit for prefix, limit in self.larger.items() if prefix.endswith("/") and path.startswith(prefix)]
        return max(under, default=MAX_BODY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def unless_exceeded(message: Message) -> None:
            nonlocal started
            if exceeded:  # what the application answered to the broken-off body is replaced by the 413
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, unless_exceeded)
        except _TooLarge:
            pass
        if exceeded and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        message = _("The request is larger than %(most)s MB; send less (photos: at most 4 of 10 MB each).")
        error = ApiError(413, message % {"most": round(limit / 1024 / 1024, 1)})
        response = await errors._api_error(Request(scope), error)
        await response(scope, receive, send)
