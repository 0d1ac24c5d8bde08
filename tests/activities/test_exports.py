"""The case list as CSV: cells worked out by PostgreSQL (COPY) read exactly as the list pages show them."""

import csv
import io
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from activities.cases import write_projection
from activities.exports import case_table, csv_chunks
from activities.registry import name_book
from i18n.language import CHINESE, ENGLISH, speaking
from i18n.names import name
from i18n.zone import local_time
from schemas.case import CaseProjection, CaseSummary, TimelineEvent
from schemas.domain import Channel, CloseReason, Level, Severity, Status
from schemas.search import CaseFilter, CaseSort

REPORTED = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 October in Beijing


async def _csv(connection, language: str) -> list[list[str]]:
    with speaking(language):
        names = await name_book(connection)
        table = case_table(lambda: nullcontext(connection), CaseFilter(sort=CaseSort.OLDEST), names)
        body = b"".join([chunk async for chunk in csv_chunks(table)])
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_case_csv_reads_names_and_local_times_in_the_language_asked(pool):
    async with pool.acquire() as connection:
        place = await connection.fetchrow(
            """SELECT p.compound, j.parent AS community, s.code AS street, s.parent AS district, p.property_company
                 FROM compound_parties p JOIN jurisdictions j ON j.code = p.compound
                 JOIN jurisdictions c ON c.code = j.parent JOIN jurisdictions s ON s.code = c.parent
                ORDER BY p.compound LIMIT 1"""
        )
        category = await connection.fetchval("SELECT code FROM categories ORDER BY code LIMIT 1")
        case = CaseSummary(
            case_id="WH-EXPORT-1",
            status=Status.CLOSED,
            level=Level.COUNCIL,
            severity=Severity.MAJOR,
            category=category,
            channel=Channel.HOTLINE,
            district=place["district"],
            street=place["street"],
            community=place["community"],
            compound=place["compound"],
            owner=place["property_company"],
            description='leaking pipe, "again"\nsecond line',
            reported_at=REPORTED,
            updated_at=REPORTED + timedelta(hours=5),
            resolved_level=Level.COUNCIL,
            resolved_at=REPORTED + timedelta(hours=3, minutes=7),
            closed_at=REPORTED + timedelta(hours=5),
            close_reason=CloseReason.SATISFIED,
            first_time_satisfied=True,
            score=5,
            last_seq=1,
        )
        async with connection.transaction():
            event = TimelineEvent(seq=1, at=REPORTED, kind="REPORTED", level=Level.COUNCIL)
            await write_projection(connection, CaseProjection(summary=case, events=[event]))
        stranger = case.model_copy(update={"case_id": "WH-EXPORT-2", "owner": "NOBODY", "first_time_satisfied": None})
        async with connection.transaction():
            await write_projection(connection, CaseProjection(summary=stranger, events=[event]))

        for language in (CHINESE, ENGLISH):
            rows = await _csv(connection, language)
            with speaking(language):
                names = await name_book(connection)
                expected = [
                    case.case_id,
                    "2026-10-31 23:30",
                    name(Status.CLOSED),
                    name(Level.COUNCIL),
                    names(category),
                    name(Severity.MAJOR),
                    name(Channel.HOTLINE),
                    names.place(case.street),
                    names.place(case.community),
                    names.place(case.compound),
                    names(case.owner),
                    "",
                    "否" if language == CHINESE else "no",
                    local_time(case.resolved_at, label=False),
                    local_time(case.closed_at, label=False),
                    name(CloseReason.SATISFIED),
                    "是" if language == CHINESE else "yes",
                    "5",
                    case.description,
                ]
            assert rows[1] == expected, language
            assert (
                rows[2][0] == "WH-EXPORT-2" and rows[2][10] == "NOBODY" and rows[2][16] == ""
            )  # a code read as itself
            assert len(rows) == 3
