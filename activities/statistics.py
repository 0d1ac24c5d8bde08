"""Supervisors' figures, read from `cases`, `case_events` and `department_tasks`.

The definitions are those of `docs/statistics.md`; the API, the CLI, the dashboard and the rankings all
call `statistics()` so that each figure has exactly one implementation. A day (the trend's) is a local calendar
day of the deployment's zone (WHISTLE_TIMEZONE), however long daylight saving makes it.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import asyncpg

from activities.registry import UnknownReference
from activities.rollups import FILED_ELSEWHERE
from i18n.zone import day_start, deployment_zone, local_day
from schemas.domain import JurisdictionKind, Level
from schemas.statistics import (
    DepartmentFigures,
    LevelFigures,
    OrganisationFigures,
    Rates,
    Ratio,
    Statistics,
    StatisticsQuery,
    TrendPoint,
)

OPEN = "('REPORTED', 'IN_PROGRESS', 'REOPENED')"
_COLUMN = {
    JurisdictionKind.DISTRICT: "district",
    JurisdictionKind.STREET: "street",
    JurisdictionKind.COMMUNITY: "community",
    JurisdictionKind.COMPOUND: "compound",
}


class Cohort:
    """The WHERE clause over `cases c` for a query, with its arguments ($1, $2, … in order)."""

    def __init__(self, query: StatisticsQuery, kind: JurisdictionKind | None) -> None:
        self.conditions: list[str] = []
        self.args: list[object] = []
        # A case's events happen after its report, so the period's start bounds the events too: with the
        # (kind, at) index that spares reading a year of events for a month's statistics.
        self.events_since = "true"
        self.scope = "true"  # the jurisdiction alone (overdue now counts cases of any report date)
        if query.since is not None:
            self._add("c.reported_at >= ${}", query.since)
            self.events_since = f"e.at >= ${len(self.args)}"
        if query.until is not None:
            self._add("c.reported_at < ${}", query.until)
        if kind is not None:
            self._add(f"c.{_COLUMN[kind]} = ${{}}", query.jurisdiction)
            self.scope = self.conditions[-1]

    def _add(self, condition: str, value: object) -> None:
        self.args.append(value)
        self.conditions.append(condition.format(len(self.args)))

    @property
    def where(self) -> str:
        return " AND ".join(self.conditions) or "true"

    def plus(self, value: object) -> tuple[str, list[object]]:
        """The placeholder of one more argument, and the arguments with it (the cohort's own stay as they are)."""
        return f"${len(self.args) + 1}", [*self.args, value]


async def jurisdiction_kind(connection: asyncpg.Connection, code: str | None) -> JurisdictionKind | None:
    if code is None:
        return None
    return _kind(code, await connection.fetchval("SELECT kind FROM jurisdictions WHERE code = $1", code))


def _kind(code: str | None, kind: str | None) -> JurisdictionKind | None:
    """The kind of jurisdiction `code` as read (raises UnknownReference for an unknown code)."""
    if code is None:
        return None
    if kind is None:
        raise UnknownReference(f"unknown jurisdiction {code!r}")
    return JurisdictionKind(kind)


async def within(connection: asyncpg.Connection, code: str, area: str | None) -> bool:
    """Whether jurisdiction `code` is `area` or lies inside it (raises UnknownReference for an unknown code)."""
    rows = await connection.fetch(
        """WITH RECURSIVE up AS (
               SELECT code, parent FROM jurisdictions WHERE code = $1
               UNION ALL
               SELECT j.code, j.parent FROM jurisdictions j JOIN up ON j.code = up.parent)
           SELECT code FROM up""",
        code,
    )
    if not rows:
        raise UnknownReference(f"unknown jurisdiction {code!r}")
    return area in {row["code"] for row in rows}


_CASES = """
SELECT count(*) AS reported,
       count(resolved_level) AS resolved,
       count(*) FILTER (WHERE status = 'CLOSED') AS closed,
       count(*) FILTER (WHERE close_reason = 'WITHDRAWN') AS withdrawn,
       coalesce(sum(whistles), 0) AS whistles,
       coalesce(sum(auto_escalations), 0) AS auto_escalations,
       count(*) FILTER (WHERE level <> 'COUNCIL') AS escalated,
       count(first_time_satisfied) AS feedback,
       count(*) FILTER (WHERE first_time_satisfied) AS first_time_satisfied,
       count(*) FILTER (WHERE close_reason = 'SATISFIED') AS satisfied,
       avg(score)::float AS mean_score,
       coalesce(sum(reopen_count), 0) AS reopened,
       count(*) FILTER (WHERE supervision) AS supervised_cases
  FROM cases c WHERE {where}
"""

# The live figures in one statement: open now per level (of the cohort), overdue now (of the jurisdiction, whatever
# the report date), the moment they are as of, and the organisations' names and kinds.
_LIVE = """
SELECT (SELECT coalesce(jsonb_object_agg(level, n), '{{}}')
          FROM (SELECT level, count(*) AS n FROM cases c WHERE {where} AND c.status IN {open} GROUP BY 1) o) AS open_at,
       (SELECT count(*) FROM cases c WHERE {scope} AND c.status IN {open} AND c.deadline < {as_of}) AS overdue_now,
       {as_of} AS as_of,
       (SELECT jsonb_agg(jsonb_build_array(code, name, kind)) FROM organisations) AS organisations
"""

_RESOLVED_AT = """
SELECT resolved_level, count(*) AS n FROM cases c WHERE {where} AND c.resolved_level IS NOT NULL GROUP BY 1
"""

# One pass over the cohort's events. Every row of `facts` is one countable thing: a stint entered at a
# level (with the level's owner), a deadline breach (against the late owner), a case whose owner reported
# for duty before its first deadline breach (against the property company), an arrival due at the
# council (on time or not), a supervision naming a party, a department return or overdue flag.
_FACTS = """
WITH cohort AS MATERIALIZED (
    SELECT c.case_id, c.reported_at, c.community, c.street, p.council_owner AS property_company, centre.code AS centre
      FROM cases c
      LEFT JOIN compound_parties p ON p.compound = c.compound
      LEFT JOIN organisations centre ON centre.jurisdiction = c.district AND centre.kind = 'DISTRICT_CENTRE'
     WHERE {where}
),
events AS (
    SELECT e.case_id, e.seq, e.kind, e.level, e.details,
           c.reported_at, c.community, c.street, c.property_company, c.centre
      FROM case_events e JOIN cohort c USING (case_id)
     WHERE e.kind IN ('REPORTED', 'ACCEPTED', 'ESCALATED', 'REOPENED', 'SLA_BREACHED', 'ARRIVED', 'ARRIVAL_BREACHED',
                      'SUPERVISED', 'TASK_RETURNED', 'TASK_OVERDUE')
       AND {events_since}
),
stints AS (
    SELECT reported_at,
           CASE kind WHEN 'ESCALATED' THEN details->>'to' WHEN 'REOPENED' THEN details->>'level' ELSE level END
               AS level,
           community, street, property_company, centre
      FROM events WHERE kind IN ('REPORTED', 'ESCALATED', 'REOPENED')
),
arrivals AS (
    SELECT min(reported_at) AS reported_at, min(property_company) AS org,
           bool_or(kind = 'ARRIVED' AND (details->>'on_time')::boolean) AND NOT bool_or(kind = 'ARRIVAL_BREACHED')
               AS on_time
      FROM events WHERE level = 'COUNCIL' AND kind IN ('ARRIVED', 'ARRIVAL_BREACHED')
     GROUP BY case_id
),
responses AS (
    SELECT min(reported_at) AS reported_at, min(property_company) AS org,
           min(seq) FILTER (WHERE kind = 'ACCEPTED') AS accepted,
           min(seq) FILTER (WHERE kind = 'SLA_BREACHED' AND details->>'what' IS NULL) AS breached
      FROM events WHERE kind IN ('ACCEPTED', 'SLA_BREACHED')
     GROUP BY case_id
),
facts AS (
    SELECT 'stint' AS figure, level,
           CASE level WHEN 'COUNCIL' THEN property_company WHEN 'COMMUNITY' THEN community
                      WHEN 'STREET' THEN street ELSE centre END AS org,
           reported_at
      FROM stints
    UNION ALL
    SELECT 'breach', level, details->>'against', reported_at
      FROM events WHERE kind = 'SLA_BREACHED' AND details->>'what' IS NULL
    UNION ALL
    SELECT 'arrival_due', 'COUNCIL', org, reported_at FROM arrivals
    UNION ALL
    SELECT 'arrival_on_time', 'COUNCIL', org, reported_at FROM arrivals WHERE on_time
    UNION ALL
    SELECT 'responded', NULL, org, reported_at FROM responses WHERE accepted < coalesce(breached, accepted + 1)
    UNION ALL
    SELECT 'supervised', level, against.org, reported_at
      FROM events CROSS JOIN LATERAL jsonb_array_elements_text(details->'against') AS against(org)
     WHERE kind = 'SUPERVISED'
    UNION ALL
    SELECT 'supervision', level, NULL, reported_at FROM events WHERE kind = 'SUPERVISED'
    UNION ALL
    SELECT 'return', level, details->>'department', reported_at FROM events WHERE kind = 'TASK_RETURNED'
    UNION ALL
    SELECT 'task_overdue', level, details->>'department', reported_at
      FROM events WHERE kind = 'TASK_OVERDUE' AND details->>'reminder' = '0'
)
SELECT figure, level, org, NULL::date AS day, count(*) AS n FROM facts GROUP BY figure, level, org
UNION ALL
SELECT figure, NULL, NULL, (reported_at AT TIME ZONE {zone})::date, count(*) FROM facts
 WHERE figure IN ('stint', 'breach') GROUP BY figure, 4
"""

_TASKS = """
SELECT t.department,
       count(*) AS tasks,
       count(*) FILTER (WHERE t.accepted_at <= t.accept_due) AS accepted_on_time,
       count(t.accepted_at) AS accepted,
       count(*) FILTER (WHERE t.completed_at <= t.work_due) AS completed_on_time,
       (avg(extract(epoch FROM t.accepted_at - t.summoned_at)) / 60)::float AS mean_accept_minutes,
       (avg(extract(epoch FROM t.completed_at - t.accepted_at)) / 3600)::float AS mean_completion_hours,
       avg(c.score)::float AS mean_score
  FROM department_tasks t JOIN cases c USING (case_id)
 WHERE {where}
 GROUP BY t.department
"""

_COMPANIES = """
SELECT p.property_company AS org,
       count(*) AS cases,
       count(*) FILTER (WHERE c.level = 'DISTRICT') AS reached_district,
       count(c.resolved_level) AS resolved,
       count(*) FILTER (WHERE c.resolved_level = 'COUNCIL') AS kept,
       count(c.first_time_satisfied) AS feedback,
       count(*) FILTER (WHERE c.first_time_satisfied) AS first_time_satisfied,
       count(*) FILTER (WHERE c.close_reason = 'SATISFIED') AS satisfied,
       count(*) FILTER (WHERE c.close_reason = 'WITHDRAWN') AS withdrawn,
       avg(c.score)::float AS mean_score
  FROM cases c JOIN compound_parties p ON p.compound = c.compound AND p.property_company IS NOT NULL
 WHERE {where}
 GROUP BY 1
"""

_DAYS = """
SELECT (c.reported_at AT TIME ZONE {zone})::date AS day, count(*) AS n FROM cases c WHERE {where} GROUP BY 1
"""


# A period's roll-up rows: the figures' sums (`day` NULL) and the trend's per day, in one statement.
_ROLLUPS = """
SELECT figure, level, org, sum(n)::bigint AS n, NULL::date AS day, NULL::bigint AS stints, NULL::bigint AS breaches
  FROM ({spans}) r GROUP BY 1, 2, 3
UNION ALL
SELECT NULL, NULL, NULL, sum(reported)::bigint, day, sum(stints)::bigint, sum(breaches)::bigint
  FROM statistics_trend r WHERE {trend} GROUP BY day
"""


class _Arguments:
    """Conditions over roll-up rows `r` and their arguments ($1, $2, … in order)."""

    def __init__(self, scope: str | None, jurisdiction: str | None) -> None:
        self.args: list[object] = []
        self.scope = "true" if scope is None else f"r.{scope} = {self.arg(jurisdiction)}"

    def arg(self, value: object) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def where(self, column: str, low: date | None, high: date | None) -> str:
        conditions = [self.scope]
        if low is not None:
            conditions.append(f"r.{column} >= {self.arg(low)}")
        if high is not None:
            conditions.append(f"r.{column} < {self.arg(high)}")
        return " AND ".join(conditions)


def _rollup_rows(first: date | None, end: date | None, scope: str | None, jurisdiction: str | None):
    """The roll-up rows of a period of whole local days: its whole local months from the monthly roll-ups, the days
    before the first and after the last whole month from the daily ones (all its days if it holds no whole month),
    and its trend from the trend rows."""
    arguments = _Arguments(scope, jurisdiction)

    def rows(table: str, column: str, low: date | None, high: date | None) -> str:
        return f"SELECT figure, level, org, n FROM {table} r WHERE {arguments.where(column, low, high)}"

    months = (_month_on_or_after(first), _month_on_or_before(end))
    if months[0] is not None and months[1] is not None and months[0] >= months[1]:
        parts = [rows("statistics_rollups", "day", first, end)]
    else:
        parts = [rows("statistics_rollups_monthly", "month", *months)]
        if first is not None and first < months[0]:
            parts.append(rows("statistics_rollups", "day", first, months[0]))
        if end is not None and months[1] < end:
            parts.append(rows("statistics_rollups", "day", months[1], end))
    trend = arguments.where("day", first, end)
    return _ROLLUPS.format(spans=" UNION ALL ".join(parts), trend=trend), arguments.args


def _month_on_or_after(day: date | None) -> date | None:
    if day is None or day.day == 1:
        return day
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_on_or_before(day: date | None) -> date | None:
    return None if day is None else day.replace(day=1)


def _whole_days(query: StatisticsQuery) -> tuple[date | None, date | None] | None:
    """The period as local days [first, end), or None if it starts or ends inside a day (roll-ups hold days)."""
    bounds = []
    for moment in (query.since, query.until):
        day = None if moment is None else local_day(moment)
        if day is not None and day_start(day) != moment:
            return None
        bounds.append(day)
    return bounds[0], bounds[1]


async def statistics(connection: asyncpg.Connection, query: StatisticsQuery) -> Statistics:
    """Every figure for the cases reported in the query's period and jurisdiction (a snapshot in one transaction).

    A period of whole local days is summed from the roll-ups; one that starts or ends inside a day, or any
    period while the roll-ups cannot answer (a backfill not through, another zone), is counted in one pass over
    the cohort's events (`one_pass`), which is also the roll-ups' oracle in the tests. Three statements: whether
    the roll-ups answer (with the jurisdiction's kind), the roll-up rows, the live figures.
    """
    days = _whole_days(query)
    if days is None:
        return await one_pass(connection, query)
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        probe = await connection.fetchrow(
            f"SELECT {FILED_ELSEWHERE} AS elsewhere, (SELECT kind FROM jurisdictions WHERE code = $2) AS kind",
            deployment_zone().key,
            query.jurisdiction,
        )
        if probe["elsewhere"]:
            return await one_pass(connection, query)
        kind = _kind(query.jurisdiction, probe["kind"])
        sql, args = _rollup_rows(*days, _COLUMN[kind] if kind else None, query.jurisdiction)
        rows = await connection.fetch(sql, *args)
        live = await _live(connection, query, kind, tasks=False)
    counts = _rollup_counts(
        [row for row in rows if row["day"] is None], [row for row in rows if row["day"] is not None]
    )
    live.tasks = _rollup_tasks(rows)
    return _assemble(query, kind, live, *counts)


def _rollup_counts(figures, per_day):
    """The roll-ups' sums in the shapes `_assemble` takes (a trend row's `n` is the day's cases reported)."""
    total: dict[str, int] = defaultdict(int)
    company: dict[tuple[str, str], int] = defaultdict(int)
    resolved_at: dict[str, int] = defaultdict(int)
    facts = []
    for row in figures:
        figure, level, org, n = row["figure"], row["level"], row["org"], row["n"]
        if figure in _CASE_FIGURES:
            total[figure] += n
            if org:
                company[figure, org] += n
            if figure == "resolved":
                resolved_at[level] += n
                if level == "COUNCIL" and org:
                    company["kept", org] += n
        elif figure not in _TASK_FIGURES:
            facts.append({"figure": figure, "level": level or None, "org": org or None, "day": None, "n": n})
    per_day = [row for row in per_day if row["n"]]
    for row in per_day:
        for figure, n in (("stint", row["stints"]), ("breach", row["breaches"])):
            facts.append({"figure": figure, "level": None, "org": None, "day": row["day"], "n": n})
    cases = {figure: total[figure] for figure in _CASE_FIGURES}
    cases["escalated"] = total["escalated"]
    cases["mean_score"] = total["score_sum"] / total["scored"] if total["scored"] else None
    companies = {
        org: {
            "cases": company["reported", org],
            "reached_district": company["reached_district", org],
            "resolved": company["resolved", org],
            "kept": company["kept", org],
            "feedback": company["feedback", org],
            "first_time_satisfied": company["first_time_satisfied", org],
            "satisfied": company["satisfied", org],
            "withdrawn": company["withdrawn", org],
            "mean_score": company["score_sum", org] / company["scored", org] if company["scored", org] else None,
        }
        for figure, org in list(company)
        if figure == "reported"
    }
    days = [{"day": row["day"], "n": row["n"]} for row in per_day]
    return cases, dict(resolved_at), facts, companies, days


# the department task figures of activities/rollups.py: `task_counts`, `task_score_counts`
_TASK_FIGURES = frozenset(
    (
        "task",
        "task_accepted",
        "task_accepted_on_time",
        "task_accept_us",
        "task_completed",
        "task_completion_us",
        "task_completed_on_time",
        "task_scored",
        "task_score_sum",
    )
)


def _rollup_tasks(figures) -> list[dict]:
    """The department task figures from the roll-ups, in the shape of `_TASKS`' rows."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in figures:
        if row["figure"] in _TASK_FIGURES:
            sums[row["org"]][row["figure"]] += row["n"]

    def mean(total: int, count: int, unit: int) -> float | None:
        return float(Decimal(total) / count / unit) if count else None

    return [
        {
            "department": department,
            "tasks": n["task"],
            "accepted_on_time": n["task_accepted_on_time"],
            "accepted": n["task_accepted"],
            "completed_on_time": n["task_completed_on_time"],
            "mean_accept_minutes": mean(n["task_accept_us"], n["task_accepted"], 60_000_000),
            "mean_completion_hours": mean(n["task_completion_us"], n["task_completed"], 3_600_000_000),
            "mean_score": mean(n["task_score_sum"], n["task_scored"], 1),
        }
        for department, n in sums.items()
        if n["task"]
    ]


_CASE_FIGURES = (
    "reported",
    "resolved",
    "closed",
    "withdrawn",
    "whistles",
    "auto_escalations",
    "escalated",
    "reached_district",
    "feedback",
    "first_time_satisfied",
    "satisfied",
    "scored",
    "score_sum",
    "reopened",
    "supervised_cases",
)


class _Live:
    """The figures that stay live queries: open now (per level), overdue now, department tasks, names."""

    def __init__(self, as_of, zone, open_at, overdue_now, tasks, names, org_kinds) -> None:
        self.as_of, self.zone, self.open_at, self.overdue_now = as_of, zone, open_at, overdue_now
        self.tasks, self.names, self.org_kinds = tasks, names, org_kinds


async def _live(
    connection: asyncpg.Connection, query: StatisticsQuery, kind: JurisdictionKind | None, *, tasks: bool = True
) -> _Live:
    """The live figures; the department tasks' only with `tasks` (the roll-ups hold them for whole days)."""
    cohort = Cohort(query, kind)
    as_of_arg, args = cohort.plus(query.as_of)
    as_of = f"coalesce({as_of_arg}::timestamptz, now())"
    live = await connection.fetchrow(
        _LIVE.format(open=OPEN, where=cohort.where, scope=cohort.scope, as_of=as_of), *args
    )
    task_rows = await connection.fetch(_TASKS.format(where=cohort.where), *cohort.args) if tasks else []
    organisations = live["organisations"] or []
    names = {code: name for code, name, _ in organisations}
    org_kinds = {code: org_kind for code, _, org_kind in organisations}
    open_at = live["open_at"]
    return _Live(live["as_of"], deployment_zone().key, open_at, live["overdue_now"], task_rows, names, org_kinds)


async def one_pass(connection: asyncpg.Connection, query: StatisticsQuery) -> Statistics:
    """Every figure counted from `cases` and `case_events` directly (any period, to the instant)."""
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        kind = await jurisdiction_kind(connection, query.jurisdiction)
        cohort = Cohort(query, kind)
        where, args = cohort.where, cohort.args
        zone_arg, with_zone = cohort.plus(deployment_zone().key)
        cases = await connection.fetchrow(_CASES.format(where=where), *args)
        resolved_at = dict(await connection.fetch(_RESOLVED_AT.format(where=where), *args))
        facts_sql = _FACTS.format(where=where, events_since=cohort.events_since, zone=zone_arg)
        facts = await connection.fetch(facts_sql, *with_zone)
        companies = {row["org"]: row for row in await connection.fetch(_COMPANIES.format(where=where), *args)}
        days = await connection.fetch(_DAYS.format(where=where, zone=zone_arg), *with_zone)
        live = await _live(connection, query, kind)
    return _assemble(query, kind, live, cases, resolved_at, facts, companies, days)


def _assemble(query, kind, live: _Live, cases, resolved_at, facts, companies, days) -> Statistics:
    per_level: dict[tuple[str, str | None], int] = defaultdict(int)  # (figure, level) -> n
    per_org: dict[tuple[str, str], int] = defaultdict(int)  # (figure, org) -> n
    per_day: dict[tuple[str, date], int] = defaultdict(int)  # (figure, day) -> n
    totals: dict[str, int] = defaultdict(int)
    for row in facts:
        if row["day"] is not None:
            per_day[row["figure"], row["day"]] += row["n"]
            continue
        totals[row["figure"]] += row["n"]
        per_level[row["figure"], row["level"]] += row["n"]
        if row["org"] is not None:
            per_org[row["figure"], row["org"]] += row["n"]

    resolved = cases["resolved"]
    level_figures = []
    for level in Level:
        stints = per_level["stint", level.value]
        level_figures.append(
            LevelFigures(
                level=level,
                open_now=live.open_at.get(level.value, 0),
                resolved=Ratio(count=resolved_at.get(level.value, 0), of=resolved),
                sla=_compliance(stints, per_level["breach", level.value]),
            )
        )

    owners = {org for figure, org in per_org if figure in ("stint", "breach", "arrival_due", "supervised")}
    names, org_kinds = live.names, live.org_kinds
    owners = (owners | set(companies)) - {org for org in owners if org_kinds.get(org) == "DEPARTMENT"}
    organisations = [
        OrganisationFigures(
            org=org,
            name=names.get(org),
            kind=org_kinds.get(org),
            sla=_compliance(per_org["stint", org], per_org["breach", org]),
            arrival=Ratio(count=per_org["arrival_on_time", org], of=per_org["arrival_due", org]),
            supervised=per_org["supervised", org],
            **_company_figures(companies.get(org), per_org["responded", org]),
        )
        for org in sorted(owners)
    ]
    departments = [
        DepartmentFigures(
            department=row["department"],
            name=names.get(row["department"]),
            tasks=row["tasks"],
            accepted_on_time=Ratio(count=row["accepted_on_time"], of=row["tasks"]),
            completed_on_time=Ratio(count=row["completed_on_time"], of=row["accepted"]),
            mean_accept_minutes=row["mean_accept_minutes"],
            mean_completion_hours=row["mean_completion_hours"],
            returns=per_org["return", row["department"]],
            overdue=per_org["task_overdue", row["department"]],
            supervised=per_org["supervised", row["department"]],
            mean_score=row["mean_score"],
        )
        for row in sorted(live.tasks, key=lambda row: row["department"])
    ]
    trend = [
        TrendPoint(
            day=row["day"],
            reported=row["n"],
            sla=_compliance(per_day["stint", row["day"]], per_day["breach", row["day"]]),
        )
        for row in sorted(days, key=lambda row: row["day"])
    ]
    return Statistics(
        query=query,
        jurisdiction_kind=kind,
        zone=live.zone,
        as_of=live.as_of,
        reported=cases["reported"],
        open=sum(live.open_at.values()),
        resolved=resolved,
        closed=cases["closed"],
        withdrawn=cases["withdrawn"],
        levels=level_figures,
        whistles=cases["whistles"],
        auto_escalations=cases["auto_escalations"],
        escalated_cases=Ratio(count=cases["escalated"], of=cases["reported"]),
        sla=_compliance(totals["stint"], totals["breach"]),
        arrival=Ratio(count=totals["arrival_on_time"], of=totals["arrival_due"]),
        rates=_rates(
            cases["reported"], cases["withdrawn"], resolved, totals["responded"], cases["satisfied"], cases["feedback"]
        ),
        first_time_satisfaction=Ratio(count=cases["first_time_satisfied"], of=cases["feedback"]),
        mean_score=cases["mean_score"],
        reopened=cases["reopened"],
        overdue_now=live.overdue_now,
        supervisions=totals["supervision"],
        supervised_cases=cases["supervised_cases"],
        returns=totals["return"],
        task_overdue=totals["task_overdue"],
        departments=departments,
        organisations=organisations,
        trend=trend,
    )


def _company_figures(row, responded: int) -> dict:
    if row is None:
        return {}
    return {
        "rates": _rates(row["cases"], row["withdrawn"], row["resolved"], responded, row["satisfied"], row["feedback"]),
        "cases": row["cases"],
        "reached_district": row["reached_district"],
        "kept_in_compound": Ratio(count=row["kept"], of=row["resolved"]),
        "first_time_satisfaction": Ratio(count=row["first_time_satisfied"], of=row["feedback"]),
        "mean_score": row["mean_score"],
    }


def _rates(reported: int, withdrawn: int, resolved: int, responded: int, satisfied: int, feedback: int) -> Rates:
    """The three rates of 接诉即办 (docs/statistics.md): response, resolution, satisfaction."""
    return Rates(
        response=Ratio(count=responded, of=reported),
        resolution=Ratio(count=resolved, of=reported - withdrawn),
        satisfaction=Ratio(count=satisfied, of=feedback),
    )


def _compliance(stints: int, breaches: int) -> Ratio:
    """Stints without a breach; an extension can let one stint breach twice, so never below zero."""
    return Ratio(count=max(stints - breaches, 0), of=stints)
