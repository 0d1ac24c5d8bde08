"""The codec server: Temporal's remote codec protocol over the payload cipher (client/payload_codec.py), so
those allowed to read residents' personal data see decrypted histories in the Temporal Web UI or the
`temporal` CLI; everyone else sees ciphertext.

`POST /codec/decode` and `/codec/encode` take and answer `{"payloads": [{"metadata": {...}, "data": ...}]}`
(protobuf JSON, bytes in base64), as the UI and the CLI send them. The caller needs the PERSONAL_DATA right
(district command centre keys and supervisors), presented as `Authorization: Bearer <key>` (the CLI's
`--codec-auth`) or, from the UI's page, as a signed-in supervisor's session cookie (api/sessions.py), with the
UI's "include cross-origin credentials" on; the routes are also under `/dashboard/codec`, the address
`whistle dev` gives the UI. Only the configured UI origin
(WHISTLE_TEMPORAL_UI_ORIGIN) may call them across origins. Each decode is logged with the key that asked.
"""

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api import access, dashboard, sessions
from api.auth import Principal, authenticate, check_right
from api.dependencies import DbPool, TemporalClient
from api.errors import ApiError, unauthorized
from client.payload_codec import PayloadKeyError
from schemas.keys import Right

log = structlog.get_logger(__name__)

PREFIX = "/codec"
_PATHS = (f"{PREFIX}/", f"{dashboard.PREFIX}{PREFIX}/")
_bearer = HTTPBearer(auto_error=False)

router = APIRouter(include_in_schema=False)


async def _reader(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)], pool: DbPool
) -> Principal:
    if credentials:
        principal = await authenticate(pool, credentials.credentials)
        if principal is None:
            raise unauthorized("unknown or revoked API key")
    else:
        person = await sessions.current_person(request, pool)
        if person is None or person.must_change_password:
            raise unauthorized("missing API key: send `Authorization: Bearer <key>`, or sign in to the dashboard")
        principal = await sessions.principal_of(pool, person)
    check_right(principal, Right.PERSONAL_DATA)
    return principal


Reader = Annotated[Principal, Depends(access.declare(access.PERSONAL_DATA, _reader))]


async def _payloads(request: Request) -> Payloads:
    try:
        return json_format.Parse(await request.body(), Payloads())
    except json_format.ParseError as error:
        raise ApiError(400, f'the body is not {{"payloads": [...]}} in protobuf JSON: {error}') from None


def _answer(payloads: Payloads) -> Response:
    return Response(json_format.MessageToJson(payloads), media_type="application/json")


@router.post("/decode")
async def decode(request: Request, reader: Reader, client: TemporalClient) -> Response:
    payloads = await _payloads(request)
    codec = client.data_converter.payload_codec
    try:
        decoded = await codec.decode(payloads.payloads) if codec else payloads.payloads
    except PayloadKeyError as error:
        raise ApiError(400, str(error)) from None
    log.info(
        "payloads decoded",
        org=reader.org,
        key_id=reader.key_id,
        account=reader.person.account if reader.person else None,
        namespace=request.headers.get("x-namespace"),
        payloads=len(decoded),
    )
    return _answer(Payloads(payloads=decoded))


@router.post("/encode")
async def encode(request: Request, reader: Reader, client: TemporalClient) -> Response:
    payloads = await _payloads(request)
    codec = client.data_converter.payload_codec
    return _answer(Payloads(payloads=await codec.encode(payloads.payloads) if codec else payloads.payloads))


class CodecCors:
    """CORS on the codec routes only, for the Temporal UI's origin only (with its cookie): no other page, and
    no other route of the API, is opened to a cross-origin caller."""

    def __init__(self, app: ASGIApp, origin: str | None) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=[origin] if origin else [],
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        codec = scope["type"] == "http" and scope["path"].startswith(_PATHS)
        await (self.cors if codec else self.app)(scope, receive, send)


INCLUDED = ((router, PREFIX), (router, dashboard.PREFIX + PREFIX))  # the second where the dashboard's cookie reaches


def install(app: FastAPI) -> None:
    """The cross-origin rule of the codec routes (app.py includes them, `INCLUDED`)."""
    app.add_middleware(CodecCors, origin=app.state.settings.temporal_ui_origin)
