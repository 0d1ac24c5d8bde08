"""A person's inbox over the read model: the cases and department tasks waiting on their organisation.

A case waits on an organisation that owns its level (at COUNCIL: any of the compound's parties), that decides
its pending pause or extension, or (at DISTRICT) on the street a department returned it to; a task waits on
its department while it is open. What each expects next comes from the projected view (`case_views`), so the
list agrees with the case page. Sorted by deadline (the late first); offset pages, an inbox is short.
"""

from typing import Any

import asyncpg

from schemas.domain import Code, Level, Status
from schemas.inbox import Expected, InboxFilter, InboxItem, InboxPage

_OPEN = [str(status) for status in (Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED)]

# the organisation deciding a level's extension: the owner of the level above (the district centre at the top)
_DECIDER = """CASE c.level WHEN 'COUNCIL' THEN c.community WHEN 'COMMUNITY' THEN c.street
              ELSE (SELECT o.code FROM organisations o
                     WHERE o.jurisdiction = c.district AND o.kind = 'DISTRICT_CENTRE' LIMIT 1) END"""

_CASES = f"""
SELECT c.case_id, false AS task, c.description, c.category, c.compound, c.level, c.status, c.deadline,
       c.overdue, c.owner, v.view::jsonb AS view, NULL::text AS task_status
  FROM cases c LEFT JOIN case_views v USING (case_id)
 WHERE c.status = ANY($2::text[])
   AND (c.owner = $1
        OR (c.level = 'COUNCIL' AND c.compound IN (
              SELECT compound FROM compound_parties
               WHERE $1 IN (community_committee, owners_committee, property_company)))
        OR (v.view->'pause'->>'decider' = $1 AND v.view->'pause'->>'started_at' IS NULL)
        OR (v.view->>'extension' IS NOT NULL AND {_DECIDER} = $1)
        OR (c.level = 'DISTRICT' AND c.street = $1 AND json_array_length(v.view->'returned') > 0))
"""

_TASKS = """
SELECT t.case_id, true AS task, c.description, c.category, c.compound, c.level, c.status,
       coalesce(t.work_due, t.accept_due) AS deadline, t.overdue, t.department AS owner, NULL::jsonb AS view,
       t.status AS task_status
  FROM department_tasks t JOIN cases c USING (case_id)
 WHERE t.department = $1 AND t.status IN ('SUMMONED', 'ACCEPTED')
"""


def _filters(query: InboxFilter, args: list[Any]) -> str:
    clauses = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    for column in ("status", "level", "category"):
        values = getattr(query, column)
        if values:
            clauses.append(f"{column} = ANY({arg([str(v) for v in values])}::text[])")
    if query.overdue is not None:
        clauses.append(f"overdue = {arg(query.overdue)}")
    if query.text:
        words = query.text.strip()
        clauses.append(f"(case_id = {arg(words.upper())} OR description ILIKE {arg('%' + _escaped(words) + '%')})")
    return " AND ".join(clauses) or "true"


def _escaped(words: str) -> str:
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _waiting(org: Code, query: InboxFilter) -> tuple[str, list[Any]]:
    args: list[Any] = [org, _OPEN]
    where = _filters(query, args)
    return f"SELECT * FROM ({_CASES} UNION ALL {_TASKS}) AS waiting WHERE {where}", args


async def inbox(pool: asyncpg.Pool, org: Code, query: InboxFilter) -> InboxPage:
    waiting, args = _waiting(org, query)
    async with pool.acquire() as connection:
        total = await connection.fetchval(f"SELECT count(*) FROM ({waiting}) AS counted", *args)
        rows = await connection.fetch(
            f"""{waiting} ORDER BY deadline ASC NULLS LAST, case_id, task
                LIMIT {query.size} OFFSET {(query.page - 1) * query.size}""",
            *args,
        )
    pages = max(1, -(-total // query.size))
    return InboxPage(items=[_item(row, org) for row in rows], total=total, page=query.page, pages=pages)


async def count(pool: asyncpg.Pool, org: Code) -> int:
    """How many items wait on the organisation (the badge)."""
    waiting, args = _waiting(org, InboxFilter())
    return await pool.fetchval(f"SELECT count(*) FROM ({waiting}) AS counted", *args)


async def stamp(pool: asyncpg.Pool, org: Code) -> str:
    """A digest of everything the inbox shows of each item (what, how late, what is expected): it changes when a
    case arrives or leaves, moves on, or falls late, so a page can tell it is stale."""
    waiting, args = _waiting(org, InboxFilter())
    digest = await pool.fetchval(
        f"""SELECT md5(coalesce(string_agg(concat_ws('|', case_id, task, status, level, deadline, overdue,
                                                    task_status, view::text), ',' ORDER BY case_id, task), ''))
              FROM ({waiting}) AS stamped""",
        *args,
    )
    return digest


def _item(row: asyncpg.Record, org: Code) -> InboxItem:
    return InboxItem(
        case_id=row["case_id"],
        task=row["task"],
        description=row["description"],
        category=row["category"],
        compound=row["compound"],
        level=row["level"],
        status=row["status"],
        deadline=row["deadline"],
        overdue=row["overdue"],
        expected=_expected(row, org),
    )


def _expected(row: asyncpg.Record, org: Code) -> Expected:
    if row["task"]:
        return Expected.REPORT_FOR_DUTY if row["task_status"] == "SUMMONED" else Expected.COMPLETE
    view = row["view"] or {}  # jsonb: decoded by the pool's codec
    pause, extension, stage = view.get("pause"), view.get("extension"), view.get("stage") or {}
    if pause and pause.get("started_at") is None and pause.get("decider") == org:
        return Expected.DECIDE_PAUSE
    if extension and row["owner"] != org and not _council_party(view, org, row):
        return Expected.DECIDE_EXTENSION
    if row["level"] == Level.DISTRICT and view.get("returned") and row["owner"] != org:
        return Expected.REROUTE
    proposal = view.get("proposal")
    if proposal:
        voted = {vote["org"] for vote in proposal.get("votes", [])}
        return Expected.AWAIT_SIGNOFF if org in voted else Expected.SIGNOFF
    if row["status"] != Status.IN_PROGRESS:
        return Expected.AWAIT_DEPARTMENTS if row["level"] == Level.DISTRICT else Expected.ACCEPT
    if stage.get("arrival_due") and not stage.get("arrived_at"):
        return Expected.ARRIVE
    return Expected.AWAIT_DEPARTMENTS if row["level"] == Level.DISTRICT else Expected.RESOLVE


def _council_party(view: dict, org: Code, row: asyncpg.Record) -> bool:
    return row["level"] == Level.COUNCIL and org in (view.get("council") or {}).values()
