"""Read-model queries for case lists: the one place that turns a `CaseFilter` into SQL.

Pages are keyset-paginated (no OFFSET): each page continues strictly after the sort key of the previous
page's last row, so a page costs the same however deep it is and rows moving between pages are not
repeated.
"""

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from activities.statistics import OPEN
from schemas.case import CaseSummary
from schemas.domain import Code
from schemas.search import CaseFilter, CasePage, CaseSort, ReturnAwaiting, TaskFilter, TaskSummary, cursor_after

_ORDER = {
    CaseSort.DEADLINE: (("NOT overdue", "coalesce(deadline, 'infinity')", "case_id"), "ASC", ">"),
    CaseSort.OLDEST: (("reported_at", "case_id"), "ASC", ">"),
    CaseSort.NEWEST: (("reported_at", "case_id"), "DESC", "<"),
}
_CURSOR_TYPES = {CaseSort.DEADLINE: ("boolean", "timestamptz", "text"), CaseSort.OLDEST: ("timestamptz", "text")}
_CURSOR_TYPES[CaseSort.NEWEST] = _CURSOR_TYPES[CaseSort.OLDEST]


_TASK_LATE = """t.status IN ('SUMMONED', 'ACCEPTED')
   AND (t.overdue OR CASE t.status WHEN 'SUMMONED' THEN t.accept_due ELSE t.work_due END < now())"""
# Who is late on an open case, one row per (case, organisation): at DISTRICT each department whose task deadline
# (report for duty, then the work) has passed; otherwise, or at DISTRICT with no late department, the case's owner
# once the case's deadline has passed. The deadlines page names them and its `late` filter selects by them.
_LATE = f"""
SELECT t.case_id, t.department AS org
  FROM department_tasks t JOIN cases k USING (case_id)
 WHERE k.level = 'DISTRICT' AND k.status IN {OPEN} AND {_TASK_LATE}
UNION ALL
SELECT k.case_id, k.owner
  FROM cases k
 WHERE k.status IN {OPEN} AND (k.overdue OR k.deadline < now())
   AND NOT EXISTS (SELECT 1 FROM department_tasks t
                    WHERE t.case_id = k.case_id AND k.level = 'DISTRICT' AND {_TASK_LATE})
"""
# A case responded to (the response rate's numerator, docs/statistics.md): an acceptance that no breach of a
# level's deadline preceded.
_RESPONDED = """EXISTS (
    SELECT 1 FROM case_events a
     WHERE a.case_id = cases.case_id AND a.kind = 'ACCEPTED'
       AND NOT EXISTS (SELECT 1 FROM case_events b
                        WHERE b.case_id = a.case_id AND b.kind = 'SLA_BREACHED' AND b.details->>'what' IS NULL
                          AND b.seq < a.seq))"""


class _Where:
    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str) -> None:
        self.clauses.append(clause)

    def sql(self) -> str:
        return " AND ".join(self.clauses) or "true"


def _where(query: CaseFilter, district: Code | None, actionable_by: Code | None) -> _Where:
    where = _Where()
    for column in ("status", "level", "severity", "category", "resolved_level", "close_reason"):
        values = getattr(query, column)
        if values:
            where.add(f"{column} = ANY({where.arg([str(v) for v in values])}::text[])")
    for column, value in (
        ("district", district),
        ("street", query.street),
        ("community", query.community),
        ("compound", query.compound),
        ("owner", query.owner),
        ("overdue", query.overdue),
        ("supervision", query.supervised),
        ("first_time_satisfied", query.first_time_satisfied),
    ):
        if value is not None:
            where.add(f"{column} = {where.arg(value)}")
    if query.reported_from is not None:
        where.add(f"reported_at >= {where.arg(query.reported_from)}")
    if query.reported_to is not None:
        where.add(f"reported_at < {where.arg(query.reported_to)}")
    if query.due_before is not None:
        where.add(f"deadline < {where.arg(query.due_before)}")
    if query.responded is not None:
        where.add(_RESPONDED if query.responded else f"NOT {_RESPONDED}")
    if query.late is not None:
        where.add(f"case_id IN (SELECT case_id FROM ({_LATE}) late WHERE org = {where.arg(query.late)})")
    if actionable_by is not None:
        org = where.arg(actionable_by)
        where.add(
            f"""(owner = {org} OR (level = 'COUNCIL' AND compound IN (
                   SELECT compound FROM compound_parties
                    WHERE {org} IN (community_committee, owners_committee, property_company))))"""
        )
    cursor = query.cursor()
    if cursor is not None:
        columns, _, compare = _ORDER[query.sort]
        values = ", ".join(
            f"{where.arg(value)}::{kind}" if kind != "timestamptz" else f"{where.arg(value)}::text::timestamptz"
            for value, kind in zip(cursor, _CURSOR_TYPES[query.sort], strict=True)
        )
        where.add(f"({', '.join(columns)}) {compare} ({values})")
    return where


async def search_cases(
    pool: asyncpg.Pool, query: CaseFilter, *, district: Code | None = None, actionable_by: Code | None = None
) -> CasePage:
    """One page of cases matching `query`, optionally scoped to a district or to what an organisation can act on
    now (the cases it owns, and at COUNCIL the cases of the compounds where it sits on the council)."""
    where = _where(query, district, actionable_by)
    columns, direction, _ = _ORDER[query.sort]
    limit = where.arg(query.limit + 1)
    # column by column, not as one row value: only then can an index (009) give the order and stop at the limit
    order = ", ".join(f"{column} {direction}" for column in columns)
    rows = await pool.fetch(f"SELECT * FROM cases WHERE {where.sql()} ORDER BY {order} LIMIT {limit}", *where.args)
    items = [_summary(row) for row in rows[: query.limit]]
    more = len(rows) > query.limit
    return CasePage(items=items, next_cursor=cursor_after(query.sort, items[-1]) if more else None)


async def count_cases(pool: asyncpg.Pool, query: CaseFilter, *, district: Code | None = None) -> int:
    """How many cases match `query` on every page together."""
    where = _where(query.model_copy(update={"after": None}), district, None)
    return await pool.fetchval(f"SELECT count(*) FROM cases WHERE {where.sql()}", *where.args)


async def late_parties(pool: asyncpg.Pool, case_ids: list[str]) -> dict[str, list[Code]]:
    """Who is late on each of these cases (see `_LATE`); a case nobody is late on is absent."""
    rows = await pool.fetch(
        f"SELECT case_id, org FROM ({_LATE}) late WHERE case_id = ANY($1::text[]) ORDER BY case_id, org", case_ids
    )
    parties: dict[str, list[Code]] = {}
    for row in rows:
        parties.setdefault(row["case_id"], []).append(row["org"])
    return parties


async def late_organisations(pool: asyncpg.Pool, district: Code) -> list[Code]:
    """Every organisation late on an open case of the district now (the deadlines page's `late` choices)."""
    rows = await pool.fetch(
        f"""SELECT DISTINCT late.org FROM ({_LATE}) late JOIN cases c USING (case_id)
             WHERE c.district = $1 ORDER BY 1""",
        district,
    )
    return [row["org"] for row in rows]


async def returns_awaiting(
    pool: asyncpg.Pool, district: Code, *, street: Code | None = None, limit: int = 100
) -> list[ReturnAwaiting]:
    """Departments' returns (退单) of open DISTRICT cases that the street has not yet rerouted or concluded
    (nor has the case been resolved since), oldest first."""
    rows = await pool.fetch(
        f"""SELECT e.case_id, e.details->>'department' AS department, e.details->>'person' AS person,
                   e.details->>'reason' AS reason, e.at AS returned_at, c.street, c.category, c.description
              FROM case_events e JOIN cases c USING (case_id)
             WHERE e.kind = 'TASK_RETURNED' AND c.district = $1 AND ($2::text IS NULL OR c.street = $2)
               AND c.level = 'DISTRICT' AND c.status IN {OPEN}
               AND NOT EXISTS (SELECT 1 FROM case_events later
                                WHERE later.case_id = e.case_id AND later.seq > e.seq
                                  AND later.kind IN ('REROUTED', 'CONCLUDED', 'RESOLVED'))
             ORDER BY e.at, e.case_id
             LIMIT $3""",
        district,
        street,
        limit,
    )
    return [ReturnAwaiting.model_validate(dict(row)) for row in rows]


async def cases_by_id(pool: asyncpg.Pool, case_ids: list[str]) -> list[CaseSummary]:
    rows = await pool.fetch("SELECT * FROM cases WHERE case_id = ANY($1::text[]) ORDER BY reported_at DESC", case_ids)
    return [_summary(row) for row in rows]


async def department_tasks(pool: asyncpg.Pool, department: Code, query: TaskFilter) -> list[TaskSummary]:
    """A department's inbox: overdue first, then by the due time of the task's current phase."""
    rows = await pool.fetch(
        """SELECT * FROM department_tasks
            WHERE department = $1 AND status = ANY($2::text[])
            ORDER BY overdue DESC, coalesce(work_due, accept_due), task_id
            LIMIT $3""",
        department,
        [str(status) for status in query.status],
        query.limit,
    )
    return [TaskSummary.model_validate(dict(row)) for row in rows]


def _summary(row: asyncpg.Record) -> CaseSummary:
    return CaseSummary.model_validate(dict(row))


def matching_query(
    query: CaseFilter, district: Code | None, columns: Callable[[Callable[[Any], str]], str]
) -> tuple[str, list[Any]]:
    """The SELECT of every case row matching `query` (all pages, in its sort order) and its arguments; `columns`
    writes the select list, given the function that adds an argument and returns its placeholder."""
    where = _where(query.model_copy(update={"after": None}), district, None)
    order_columns, direction, _ = _ORDER[query.sort]
    order = ", ".join(f"{column} {direction}" for column in order_columns)
    select = columns(where.arg)
    return f"SELECT {select} FROM cases WHERE {where.sql()} ORDER BY {order}", where.args


async def matching_cases(
    connection: asyncpg.Connection, query: CaseFilter, *, district: Code | None = None
) -> AsyncIterator[asyncpg.Record]:
    """Every case row matching `query` (all pages, in its sort order) from a server-side cursor, so that memory
    stays flat however many there are; rows as stored (unvalidated). The caller holds a transaction on
    `connection`."""
    sql, args = matching_query(query, district, lambda _arg: "*")
    async for row in connection.cursor(sql, *args, prefetch=2_000):
        yield row
