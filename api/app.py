"""The HTTP API application. Each concern is one router included here."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from activities.db import create_pool
from api import (
    access,
    codec,
    dashboard,
    departments,
    errors,
    handlers,
    health,
    observability,
    open311,
    people,
    photos,
    registry,
    resident_pages,
    residents,
    sessions,
    signin,
    statistics,
    supervisors,
    workbench,
)
from api.language import LanguageMiddleware
from api.limits import BodyLimit, RateLimits
from api.times import LocalTimeJSONResponse
from client import temporal
from client.settings import Settings

log = structlog.get_logger(__name__)

# Swagger UI and ReDoc as the fastapi-offline package ships them: FastAPI's own pages load them from a CDN,
# which leaves /docs blank on a machine without internet.
DOCS_ASSETS = "/docs-assets"
_DOCS_FILES = Path(fastapi_offline.__file__).parent / "static"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Neither connects eagerly (lazy client, empty pool): the API starts with a dependency down,
    # /healthz reports it, and requests recover once it is back.
    settings: Settings = app.state.settings
    app.state.temporal = await temporal.connect(settings, lazy=True)
    app.state.db = await create_pool(settings.require_database_url(), min_size=0)
    log.info("api started", temporal=settings.temporal_address, namespace=settings.temporal_namespace)
    try:
        yield
    finally:
        await app.state.db.close()


ROUTERS: tuple[tuple[APIRouter, str], ...] = (
    *((router, "") for router in (health.router, residents.router, handlers.router, departments.router)),
    *((router, "") for router in (supervisors.router, open311.router, photos.router, statistics.router)),
    *((router, "") for router in (registry.router, people.router, signin.router, dashboard.router)),
    (resident_pages.router, ""),
    (workbench.router, ""),
    *codec.INCLUDED,
)
"""Every router of the app with the prefix it is included under: `api.authorization` reads their routes (the
app's own list holds included routers only as opaque branches)."""


def create_app(settings: Settings) -> FastAPI:
    settings.require_temporal_address()
    settings.require_database_url()
    app = FastAPI(
        title="Whistle",
        summary="Durable whistle-and-report (吹哨报到) escalation of residents' neighbourhood issues",
        version="0.1.0",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        default_response_class=LocalTimeJSONResponse,
    )
    app.state.settings = settings
    app.state.rate_limits = RateLimits(settings)
    _install_front_door(app)
    for router, prefix in ROUTERS:
        app.include_router(router, prefix=prefix)
    codec.install(app)
    errors.install(app)
    app.add_middleware(
        BodyLimit,
        larger={
            "/v1/photos": photos.UPLOAD_BODY,
            resident_pages.REPORT: photos.UPLOAD_BODY,
            **dict.fromkeys(workbench.UPLOADS, photos.UPLOAD_BODY),
        },
    )
    app.add_middleware(LanguageMiddleware)  # what the middlewares inside answer speaks the language too
    observability.install(app)  # outermost: every request logged and counted with its id
    return app


def _install_front_door(app: FastAPI) -> None:
    """What a browser finds at the API's address: a person's home at / (the sign-in page for someone not signed in),
    the API docs at /docs and /redoc."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=_DOCS_FILES), name="docs-assets")
    title = f"{app.title} API 接口文档"
    favicon = f"{DOCS_ASSETS}/favicon.png"

    @app.get("/", include_in_schema=False, dependencies=[access.Public])
    async def front_door(request: Request) -> RedirectResponse:
        person = await sessions.current_person(request, request.app.state.db)
        return RedirectResponse(sessions.SIGNIN if person is None else sessions.home(person.role), status_code=307)

    @app.get("/docs", include_in_schema=False, dependencies=[access.Public])
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=title,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=favicon,
            oauth2_redirect_url=None,
        )

    @app.get("/redoc", include_in_schema=False, dependencies=[access.Public])
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url,
            title=title,
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        )
