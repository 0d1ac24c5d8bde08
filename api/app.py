"""The HTTP API application. Each concern is one router included here."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from activities.db import create_pool
from api import dashboard, departments, errors, handlers, health, open311, residents, statistics, supervisors
from workers import temporal
from workers.settings import Settings

log = structlog.get_logger(__name__)


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


def create_app(settings: Settings) -> FastAPI:
    settings.require_temporal_address()
    settings.require_database_url()
    app = FastAPI(
        title="Whistle",
        summary="Durable whistle-and-report (吹哨报到) escalation of residents' neighbourhood issues",
        version="0.1.0",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.include_router(health.router)
    for router in (residents.router, handlers.router, departments.router, supervisors.router, open311.router):
        app.include_router(router)
    app.include_router(statistics.router)
    app.include_router(dashboard.router)
    errors.install(app)
    return app
