"""Downloads of what a supervisor sees: every statistics table and case list, as CSV or XLSX.

CSV is UTF-8 with a byte-order mark (so that Excel opens Chinese correctly) and streams as it is read; XLSX is
written row by row in xlsxwriter's constant-memory mode to a temporary file, then streamed. Headings are in the
language in force, names come from the registry, times are local (the zone is named in the heading).
"""

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import asyncpg
import xlsxwriter

from activities import search
from i18n.language import N_, _
from i18n.names import NameBook, name
from i18n.zone import deployment_zone, zone_label
from schemas.domain import Channel, CloseReason, Code, Level, Severity, Status
from schemas.search import CaseFilter
from schemas.statistics import Ratio, Statistics, StatisticsTable

Cell = str | int | float | None


@dataclass
class Table:
    sheet: str  # the sheet's name in the language in force
    headings: list[str]
    rows: Iterable[Sequence[Cell]] | AsyncIterable[Sequence[Cell]]
    # the rows as CSV written to the callable given, if the database writes them (then `rows` serves XLSX)
    copy: Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None]] | None = None


def _ratio_cells(ratio: Ratio | None) -> list[Cell]:
    if ratio is None:
        return [None, None, None]
    return [ratio.count, ratio.of, None if ratio.rate is None else round(ratio.rate, 4)]


def figure_rows(stats: Statistics) -> list[tuple[str, int | float | Ratio | None]]:
    """Every scalar figure of the view with its label, in the order people read them."""
    return [
        (_("cases reported"), stats.reported),
        (_("open"), stats.open),
        (_("resolved"), stats.resolved),
        (_("closed"), stats.closed),
        (_("withdrawn"), stats.withdrawn),
        (_("response rate (响应率)"), stats.rates.response),
        (_("resolution rate (解决率)"), stats.rates.resolution),
        (_("satisfaction rate (满意率)"), stats.rates.satisfaction),
        (_("whistles (吹哨): manual"), stats.whistles),
        (_("whistles (吹哨): automatic"), stats.auto_escalations),
        (_("cases that left the compound"), stats.escalated_cases),
        (_("on time, all levels"), stats.sla),
        (_("on-site arrival on time"), stats.arrival),
        (_("satisfied at the first verdict"), stats.first_time_satisfaction),
        (_("mean score (1-5)"), None if stats.mean_score is None else round(stats.mean_score, 2)),
        (_("reopened (unsatisfied)"), stats.reopened),
        (_("overdue now"), stats.overdue_now),
        (_("supervisions (督办)"), stats.supervisions),
        (_("cases flagged for supervision"), stats.supervised_cases),
        (_("department returns (退单)"), stats.returns),
        (_("overdue tasks"), stats.task_overdue),
    ]


def _ratio_headings(what: str) -> list[str]:
    return [_("%(figure)s: count") % {"figure": what}, _("%(figure)s: of") % {"figure": what}, what]


def statistics_tables(stats: Statistics, names: NameBook) -> dict[StatisticsTable, Table]:
    figures = []
    for label, value in figure_rows(stats):
        figures.append([label, *(_ratio_cells(value) if isinstance(value, Ratio) else [value, None, None])])
    sla, resolved, arrival = _("deadlines met"), _("resolved here"), _("on site on time")
    rates = [_("response rate (响应率)"), _("resolution rate (解决率)"), _("satisfaction rate (满意率)")]
    return {
        StatisticsTable.FIGURES: Table(_("figures"), [_("figure"), _("count"), _("of"), _("rate")], figures),
        StatisticsTable.LEVELS: Table(
            _("levels"),
            [_("level"), _("open now"), *_ratio_headings(resolved), *_ratio_headings(sla)],
            [
                [name(level.level), level.open_now, *_ratio_cells(level.resolved), *_ratio_cells(level.sla)]
                for level in stats.levels
            ],
        ),
        StatisticsTable.ORGANISATIONS: Table(
            _("organisations"),
            [
                _("organisation"),
                *_ratio_headings(sla),
                *_ratio_headings(arrival),
                _("supervisions"),
                _("cases"),
                *(heading for rate in rates for heading in _ratio_headings(rate)),
            ],
            [
                [
                    names(o.org),
                    *_ratio_cells(o.sla),
                    *_ratio_cells(o.arrival),
                    o.supervised,
                    o.cases,
                    *_ratio_cells(o.rates.response if o.rates else None),
                    *_ratio_cells(o.rates.resolution if o.rates else None),
                    *_ratio_cells(o.rates.satisfaction if o.rates else None),
                ]
                for o in stats.organisations
            ],
        ),
        StatisticsTable.DEPARTMENTS: Table(
            _("departments"),
            [
                _("department"),
                _("tasks"),
                *_ratio_headings(_("reported for duty on time")),
                *_ratio_headings(_("completed on time")),
                _("mean time to report for duty (minutes)"),
                _("mean time to complete (hours)"),
                _("returns"),
                _("overdue"),
            ],
            [
                [
                    names(d.department),
                    d.tasks,
                    *_ratio_cells(d.accepted_on_time),
                    *_ratio_cells(d.completed_on_time),
                    None if d.mean_accept_minutes is None else round(d.mean_accept_minutes, 1),
                    None if d.mean_completion_hours is None else round(d.mean_completion_hours, 2),
                    d.returns,
                    d.overdue,
                ]
                for d in stats.departments
            ],
        ),
        StatisticsTable.TREND: Table(
            _("trend"),
            [_("local day of report"), _("cases reported"), *_ratio_headings(sla)],
            [[point.day.isoformat(), point.reported, *_ratio_cells(point.sla)] for point in stats.trend],
        ),
    }


_CASE_HEADINGS = [
    N_("case"),
    N_("reported (%(zone)s)"),
    N_("status"),
    N_("level"),
    N_("category"),
    N_("severity"),
    N_("channel"),
    N_("street"),
    N_("community"),
    N_("compound"),
    N_("owner"),
    N_("deadline (%(zone)s)"),
    N_("overdue"),
    N_("resolved (%(zone)s)"),
    N_("closed (%(zone)s)"),
    N_("how it closed"),
    N_("satisfied the first time"),
    N_("score"),
    N_("description"),
]


async def _named(connection: asyncpg.Connection, names: NameBook) -> dict[str, dict[str, str]]:
    """Each coded column's code -> name in the language in force (a code nobody names reads as itself)."""
    codes = await connection.fetch(
        """SELECT code, false AS place FROM organisations UNION SELECT code, false FROM categories
           UNION SELECT code, false FROM volunteers
           UNION SELECT code, true FROM jurisdictions"""
    )
    enums = {"status": Status, "level": Level, "severity": Severity, "channel": Channel, "reason": CloseReason}
    named = {column: {member.value: name(member) for member in kind} for column, kind in enums.items()}
    named["who"] = {row["code"]: names(row["code"]) for row in codes}
    named["place"] = {row["code"]: names.place(row["code"]) for row in codes if row["place"]}
    return named


def _case_cells(query: CaseFilter, district: Code | None, named: dict[str, dict[str, str]]) -> tuple[str, list]:
    """The SELECT of a case list's cells as people read them: names, local times (the zone is in the heading)."""

    def columns(arg: Callable[[object], str]) -> str:
        books = {book: arg(codes) for book, codes in named.items()}

        def said(column: str, book: str) -> str:
            return f"coalesce({books[book]}::jsonb ->> {column}, {column})"

        def when(column: str) -> str:
            return f"to_char({column} AT TIME ZONE {zone}, 'YYYY-MM-DD HH24:MI')"

        def yes_no(column: str) -> str:
            return f"CASE {column} WHEN true THEN {yes} WHEN false THEN {no} END"

        zone, yes, no = arg(deployment_zone().key), arg(_("yes")), arg(_("no"))
        return ", ".join(
            [
                "case_id",
                when("reported_at"),
                said("status", "status"),
                said("level", "level"),
                said("category", "who"),
                said("severity", "severity"),
                said("channel", "channel"),
                said("street", "place"),
                said("community", "place"),
                said("compound", "place"),
                said("owner", "who"),
                when("deadline"),
                yes_no("overdue"),
                when("resolved_at"),
                when("closed_at"),
                said("close_reason", "reason"),
                yes_no("first_time_satisfied"),
                "score",
                "description",
            ]
        )

    return search.matching_query(query, district, columns)


def case_table(
    connect: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]],
    query: CaseFilter,
    names: NameBook,
    *,
    district: Code | None = None,
) -> Table:
    """A case list (every page of `query`), as the list pages show it: names and local times, worked out by the
    database. `connect` opens the connection to read it on (in a read-only snapshot): CSV is PostgreSQL's own
    `COPY … TO STDOUT` streamed as it comes, XLSX reads the same cells from a server-side cursor."""

    async def rows() -> AsyncIterator[Sequence[Cell]]:
        async with connect() as connection:
            sql, args = _case_cells(query, district, await _named(connection, names))
            async for row in connection.cursor(sql, *args, prefetch=2_000):
                yield tuple(row.values())

    async def copy(output: Callable[[bytes], Awaitable[None]]) -> None:
        async with connect() as connection:
            sql, args = _case_cells(query, district, await _named(connection, names))
            await connection.copy_from_query(sql, *args, output=output, format="csv")

    told = {"zone": zone_label()}
    headings = [_(heading) % told if "%(zone)s" in heading else _(heading) for heading in _CASE_HEADINGS]
    return Table(_("cases"), headings, rows(), copy)


async def _each(rows: Iterable[Sequence[Cell]] | AsyncIterable[Sequence[Cell]]) -> AsyncIterator[Sequence[Cell]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def csv_chunks(table: Table, rows_per_chunk: int = 1_000) -> AsyncIterator[bytes]:
    """The table as CSV, UTF-8 with a BOM, a chunk of rows at a time (as PostgreSQL sends them for a table it
    copies out)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(table.headings)
    if table.copy is not None:
        yield buffer.getvalue().encode("utf-8")
        async for chunk in _copied(table.copy):
            yield chunk
        return
    pending = 0
    async for row in _each(table.rows):
        writer.writerow(["" if cell is None else cell for cell in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


async def _copied(copy: Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None]]) -> AsyncIterator[bytes]:
    """What `copy` writes, as it writes it: a few chunks in flight at most (it waits while they are read)."""
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)

    async def put(data: bytes | bytearray | memoryview) -> None:
        await chunks.put(bytes(data))  # asyncpg lends its buffer

    async def run() -> None:
        try:
            await copy(put)
        finally:
            await chunks.put(None)

    copying = asyncio.create_task(run())
    try:
        while (chunk := await chunks.get()) is not None:
            yield chunk
        await copying  # its error, if it failed
    finally:
        copying.cancel()


async def xlsx_chunks(tables: Sequence[Table], chunk: int = 1 << 16) -> AsyncIterator[bytes]:
    """The tables as one workbook (a sheet each), written in constant memory to a temporary file, then read out."""
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="whistle-export-")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False})
        bold = workbook.add_format({"bold": True})
        for table in tables:
            sheet = workbook.add_worksheet(table.sheet[:31])
            sheet.write_row(0, 0, table.headings, bold)
            number = 1
            async for row in _each(table.rows):
                sheet.write_row(number, 0, row)
                number += 1
        await asyncio.to_thread(workbook.close)
        written = await asyncio.to_thread(open, path, "rb")
        try:
            while block := await asyncio.to_thread(written.read, chunk):
                yield block
        finally:
            written.close()
    finally:
        os.unlink(path)
