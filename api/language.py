"""The language of each request: a page's remembered choice (`?lang=` sets it, a cookie keeps it), else the
browser's or client's Accept-Language, else the deployment's default (Chinese)."""

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from i18n.language import negotiate, set_language, supported

COOKIE = "whistle_lang"
REMEMBER_FOR = 365 * 24 * 3600


class LanguageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        chosen = supported(parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [""])[0])
        cookie = SimpleCookie(headers.get("cookie", ""))
        remembered = supported(cookie[COOKIE].value) if COOKIE in cookie else None
        language = chosen or remembered or negotiate(headers.get("accept-language"))
        set_language(language)
        scope.setdefault("state", {})["language"] = language

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start" and chosen and chosen != remembered:
                value = f"{COOKIE}={chosen}; Max-Age={REMEMBER_FOR}; Path=/; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", value.encode("latin-1"))]
            await send(message)

        await self.app(scope, receive, remember)
