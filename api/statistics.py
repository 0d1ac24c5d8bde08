"""Supervisors' figures over HTTP: statistics and the red/black list of their district."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from activities import rankings
from activities.exports import (
    Table,
    case_table,
    csv_chunks,
    statistics_tables,
    xlsx_chunks,
)
from activities.registry import UnknownReference
from activities.statistics import statistics, within
from api.auth import Principal, Supervisor
from api.dependencies import DbPool
from api.errors import ApiError, FieldError, responses
from client.names import name_book
from i18n.language import current, speaking
from i18n.zone import local_time
from schemas.ranking import RankingPeriod, RankingTable
from schemas.search import CaseFilter
from schemas.statistics import (
    CasesDownload,
    ExportFormat,
    Statistics,
    StatisticsDownload,
    StatisticsQuery,
    StatisticsTable,
)

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


def _download(stem: str, form: ExportFormat, tables: list[Table]) -> StreamingResponse:
    """The tables as a streamed file in the language of the request (rows are named as they are written)."""
    language = current()

    async def body() -> AsyncIterator[bytes]:
        with speaking(language):
            chunks = csv_chunks(tables[0]) if form is ExportFormat.CSV else xlsx_chunks(tables)
            async for chunk in chunks:
                yield chunk

    filename = f"{stem}.{form.value}"
    return StreamingResponse(
        body(), media_type=form.media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


async def statistics_download(
    pool: DbPool, caller: Principal, query: StatisticsQuery, form: ExportFormat, table: StatisticsTable
) -> StreamingResponse:
    """A statistics view as a file: CSV holds `table`, XLSX every table (a sheet each)."""
    stats = await district_statistics(pool, caller, query)
    tables = statistics_tables(stats, await name_book(pool))
    chosen = [tables[table]] if form is ExportFormat.CSV else list(tables.values())
    stem = f"whistle-statistics-{stats.query.jurisdiction}-{local_time(stats.as_of, '%Y%m%d-%H%M', label=False)}"
    return _download(stem, form, chosen)


async def cases_download(pool: DbPool, caller: Principal, query: CaseFilter, form: ExportFormat) -> StreamingResponse:
    """Every case of the caller's district matching `query` (all pages), read through a server-side cursor."""
    names = await name_book(pool)

    @asynccontextmanager
    async def connect() -> AsyncIterator[asyncpg.Connection]:
        async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read", readonly=True):
            yield connection

    return _download(
        f"whistle-cases-{caller.jurisdiction}", form, [case_table(connect, query, names, district=caller.jurisdiction)]
    )


@router.get(
    "/exports/statistics",
    responses=responses(401, 403, 404, 503),
    response_class=StreamingResponse,
    summary="The statistics view as CSV (UTF-8 with BOM; one table) or XLSX (every table), in the request's language",
)
async def export_statistics(
    caller: Supervisor, pool: DbPool, download: Annotated[StatisticsDownload, Query()]
) -> StreamingResponse:
    return await statistics_download(pool, caller, download.query(), download.format, download.table)


@router.get(
    "/exports/cases",
    responses=responses(401, 403, 503),
    response_class=StreamingResponse,
    summary="Every case of my district matching the list's filters, as CSV (UTF-8 with BOM) or XLSX, streamed",
)
async def export_cases(
    caller: Supervisor, pool: DbPool, download: Annotated[CasesDownload, Query()]
) -> StreamingResponse:
    return await cases_download(pool, caller, download.filter(), download.format)


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
