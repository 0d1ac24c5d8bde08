"""Supervisors' figures over HTTP: statistics and the red/black list of their district."""

from typing import Annotated

from fastapi import APIRouter, Query

from activities import rankings
from activities.registry import UnknownReference
from activities.statistics import statistics, within
from api.auth import Principal, Supervisor
from api.dependencies import DbPool
from api.errors import ApiError, FieldError, responses
from schemas.ranking import RankingPeriod, RankingTable
from schemas.statistics import Statistics, StatisticsQuery

router = APIRouter(prefix="/v1/supervisor", tags=["supervisors"])


async def district_statistics(pool: DbPool, caller: Principal, query: StatisticsQuery) -> Statistics:
    """Statistics of a jurisdiction inside the caller's district (by default the whole district)."""
    if query.jurisdiction is None:
        query = query.model_copy(update={"jurisdiction": caller.jurisdiction})
    async with pool.acquire() as connection:
        try:
            if not await within(connection, query.jurisdiction, caller.jurisdiction):
                raise ApiError(403, f"{query.jurisdiction} is not in {caller.org}'s district {caller.jurisdiction}")
            return await statistics(connection, query)
        except UnknownReference as error:
            raise ApiError(404, str(error)) from error


@router.get(
    "/statistics",
    response_model=Statistics,
    responses=responses(401, 403, 404, 503),
    summary="Figures of the cases reported in a period, for the district or one street, community or compound",
)
async def get_statistics(caller: Supervisor, pool: DbPool, query: Annotated[StatisticsQuery, Query()]) -> Statistics:
    return await district_statistics(pool, caller, query)


@router.get(
    "/rankings",
    response_model=RankingTable,
    responses=responses(401, 403, 404, 503),
    summary="The red/black list (红黑榜) of a period (default: the latest ranked)",
)
async def get_rankings(
    caller: Supervisor,
    pool: DbPool,
    period: Annotated[str | None, Query(description="2026-11 (month) or 2026-W47 (ISO week)")] = None,
) -> RankingTable:
    if period is not None:
        try:
            RankingPeriod.days(period)
        except ValueError as error:
            raise FieldError(("query", "period"), str(error), "value_error") from error
    async with pool.acquire() as connection:
        table = await rankings.stored(connection, period)
    if table is None:
        raise ApiError(404, f"no rankings for {period}" if period else "no rankings yet")
    return table
