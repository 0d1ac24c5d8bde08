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
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import xlsxwriter

from i18n.language import N_, _
from i18n.names import NameBook, name
from i18n.zone import local_time, zone_label
from schemas.domain import Channel, CloseReason, Level, Severity, Status
from schemas.statistics import Ratio, Statistics, StatisticsTable

Cell = str | int | float | None


@dataclass
class Table:
    sheet: str  # the sheet's name in the language in force
    headings: list[str]
    rows: Iterable[Sequence[Cell]] | AsyncIterable[Sequence[Cell]]


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


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else local_time(moment, label=False)


def case_table(cases: AsyncIterable[Mapping], names: NameBook) -> Table:
    """A case list, one row per `cases` row, as the list pages show it (names and local times)."""

    async def rows() -> AsyncIterator[list[Cell]]:
        # a million rows name the same few codes: read each once (the language stays put for the table)
        said: dict[tuple[Callable, object], str] = {}

        def say(read: Callable[[Any], str], code: object) -> str | None:
            if code is None:
                return None
            if (read, code) not in said:
                said[read, code] = read(code)
            return said[read, code]

        def enum(kind: type[StrEnum]) -> Callable[[str], str]:
            return lambda code: name(kind(code))

        status, level, severity, channel, reason = map(enum, (Status, Level, Severity, Channel, CloseReason))
        place = names.place

        def yes_no(flag: bool) -> str:
            return _("yes") if flag else _("no")

        async for case in cases:
            yield [
                case["case_id"],
                _when(case["reported_at"]),
                say(status, case["status"]),
                say(level, case["level"]),
                say(names, case["category"]),
                say(severity, case["severity"]),
                say(channel, case["channel"]),
                say(place, case["street"]),
                say(place, case["community"]),
                say(place, case["compound"]),
                say(names, case["owner"]),
                _when(case["deadline"]),
                say(yes_no, case["overdue"]),
                _when(case["resolved_at"]),
                _when(case["closed_at"]),
                say(reason, case["close_reason"]),
                say(yes_no, case["first_time_satisfied"]),
                case["score"],
                case["description"],
            ]

    told = {"zone": zone_label()}
    headings = [_(heading) % told if "%(zone)s" in heading else _(heading) for heading in _CASE_HEADINGS]
    return Table(_("cases"), headings, rows())


async def _each(rows: Iterable[Sequence[Cell]] | AsyncIterable[Sequence[Cell]]) -> AsyncIterator[Sequence[Cell]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def csv_chunks(table: Table, rows_per_chunk: int = 1_000) -> AsyncIterator[bytes]:
    """The table as CSV, UTF-8 with a BOM, a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(table.headings)
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
