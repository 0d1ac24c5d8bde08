"""`GET /healthz`: can this API reach Temporal and PostgreSQL right now?"""

import asyncio
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from api import access
from api.dependencies import DbPool, TemporalClient

_CHECK_TIMEOUT = timedelta(seconds=3)

router = APIRouter(tags=["health"], dependencies=[access.Public])


class DependencyHealth(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    temporal: DependencyHealth
    postgres: DependencyHealth


async def _check(probe) -> DependencyHealth:
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT.total_seconds()):
            detail = await probe
    except Exception as error:  # any failure is the answer being reported
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return DependencyHealth(ok=False, detail=reason)
    return DependencyHealth(ok=True, detail=detail)


async def _temporal(client: TemporalClient) -> str:
    if not await client.service_client.check_health(timeout=_CHECK_TIMEOUT):
        raise RuntimeError(f"{client.service_client.config.target_host} reports not serving")
    return f"{client.service_client.config.target_host} namespace {client.namespace}"


async def _postgres(pool: DbPool) -> str:
    await pool.fetchval("SELECT 1")
    return "SELECT 1 answered"


@router.get(
    "/healthz",
    response_model=Health,
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Health, "description": "a dependency is down"}},
)
async def healthz(response: Response, client: TemporalClient, pool: DbPool) -> Health:
    temporal, postgres = await asyncio.gather(_check(_temporal(client)), _check(_postgres(pool)))
    healthy = temporal.ok and postgres.ok
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if healthy else "degraded", temporal=temporal, postgres=postgres)
