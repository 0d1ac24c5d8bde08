"""Statistics roll-ups: the counts every figure of `docs/statistics.md` needs, per local report day.

A case contributes two kinds of counts, both filed under the local day it was reported on and its compound (fixed
at report):
- its row's counts (reported, resolved at a level, feedback, score, …): when the row changes, the projection
  subtracts the old row's counts and adds the new row's;
- its events' counts (a stint entered at a level, a breach, a supervision, …): added once per newly inserted
  event, so a retried projection (whose events already exist) adds nothing. Two counts are per case and depend
  on several events (the council arrival is on time only if no arrival breach follows; the case is responded to
  if its owner reports for duty before the first deadline breach): they too are recounted as old minus new.

Projections of one case serialise on an advisory lock. A case written before the roll-ups existed is left to
`backfill`, which adds whole cases and records each in `statistics_rolled_up` in the same transaction. Each
case is filed under the local day of the zone in force when it is first added, and stays there.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date

import asyncpg

from i18n.zone import deployment_zone

Key = tuple[str, str, str]  # (figure, level, org); '' for none
Dims = tuple[date, str, str, str, str]  # day, compound, community, street, district

PER_CASE_KINDS = ("ACCEPTED", "SLA_BREACHED", "ARRIVED", "ARRIVAL_BREACHED")
_EVENT_KINDS = (
    "REPORTED",
    "ACCEPTED",
    "ESCALATED",
    "REOPENED",
    "SLA_BREACHED",
    "ARRIVED",
    "ARRIVAL_BREACHED",
    "SUPERVISED",
    "TASK_RETURNED",
    "TASK_OVERDUE",
)


class Parties:
    """Who owns each level of one case: the council owner (its property company, or who stands in), community,
    street, district centre."""

    def __init__(self, company: str | None, community: str, street: str, centre: str | None) -> None:
        self.company = company or ""
        self.by_level = {"COUNCIL": self.company, "COMMUNITY": community, "STREET": street, "DISTRICT": centre or ""}


async def parties(connection: asyncpg.Connection, cases: list[Mapping]) -> list[Parties]:
    """The level owners of each case (one query however many cases)."""
    rows = await connection.fetch(
        """SELECT (SELECT council_owner FROM compound_parties WHERE compound = c.compound) AS company,
                  (SELECT code FROM organisations WHERE jurisdiction = c.district AND kind = 'DISTRICT_CENTRE'
                    LIMIT 1) AS centre
             FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS c(compound, district, n)
            ORDER BY c.n""",
        [case["compound"] for case in cases],
        [case["district"] for case in cases],
    )
    return [
        Parties(row["company"], case["community"], case["street"], row["centre"])
        for row, case in zip(rows, cases, strict=True)
    ]


def dims(case: Mapping, day: date) -> Dims:
    return (day, case["compound"], case["community"], case["street"], case["district"])


def case_counts(case: Mapping, owners: Parties) -> Counter[Key]:
    """The counts of the case row; org is the compound's property company (its company figures)."""
    company = owners.company
    counts: Counter[Key] = Counter()

    def add(figure: str, n: int = 1, level: str = "") -> None:
        if n:
            counts[figure, level, company] += n

    add("reported")
    add("closed", case["status"] == "CLOSED")
    add("withdrawn", case["close_reason"] == "WITHDRAWN")
    if case["resolved_level"] is not None:
        add("resolved", level=str(case["resolved_level"]))
    add("whistles", case["whistles"])
    add("auto_escalations", case["auto_escalations"])
    add("escalated", case["level"] != "COUNCIL")
    add("reached_district", case["level"] == "DISTRICT")
    add("feedback", case["first_time_satisfied"] is not None)
    add("first_time_satisfied", case["first_time_satisfied"] is True)
    add("satisfied", case["close_reason"] == "SATISFIED")
    if case["score"] is not None:
        add("scored")
        add("score_sum", case["score"])
    add("reopened", case["reopen_count"])
    add("supervised_cases", case["supervision"])
    return counts


def event_counts(events: Iterable[Mapping], owners: Parties) -> Counter[Key]:
    """The per-event counts of newly written events (the per-case ones excepted: see `case_event_counts`)."""
    counts: Counter[Key] = Counter()
    for event in events:
        kind, level, details = event["kind"], str(event["level"]), event["details"]
        if kind in ("REPORTED", "ESCALATED", "REOPENED"):
            entered = {"ESCALATED": details.get("to"), "REOPENED": details.get("level")}.get(kind, level)
            counts["stint", entered, owners.by_level.get(entered, "")] += 1
        elif kind == "SLA_BREACHED" and details.get("what") is None:
            counts["breach", level, details.get("against") or ""] += 1
        elif kind == "SUPERVISED":
            counts["supervision", level, ""] += 1
            for org in details.get("against") or []:
                counts["supervised", level, org] += 1
        elif kind == "TASK_RETURNED":
            counts["return", level, details.get("department") or ""] += 1
        elif kind == "TASK_OVERDUE" and str(details.get("reminder")) == "0":
            counts["task_overdue", level, details.get("department") or ""] += 1
    return counts


def case_event_counts(events: Iterable[Mapping], owners: Parties) -> Counter[Key]:
    """The per-case counts of all a case's events: the council arrival (due, on time) and the response."""
    events = list(events)
    counts: Counter[Key] = Counter()
    council = [e for e in events if e["kind"] in ("ARRIVED", "ARRIVAL_BREACHED") and str(e["level"]) == "COUNCIL"]
    if council:
        counts["arrival_due", "COUNCIL", owners.company] = 1
        on_time = any(e["kind"] == "ARRIVED" and _truthy(e["details"].get("on_time")) for e in council)
        if on_time and not any(e["kind"] == "ARRIVAL_BREACHED" for e in council):
            counts["arrival_on_time", "COUNCIL", owners.company] = 1
    accepted = min((e["seq"] for e in events if e["kind"] == "ACCEPTED"), default=None)
    breaches = (e["seq"] for e in events if e["kind"] == "SLA_BREACHED" and e["details"].get("what") is None)
    breached = min(breaches, default=None)
    if accepted is not None and (breached is None or accepted < breached):
        counts["responded", "", owners.company] = 1
    return counts


def task_counts(task: Mapping) -> Counter[Key]:
    """The counts of a department task row (its department's figures); durations in microseconds."""
    counts: Counter[Key] = Counter()
    department = task["department"]
    counts["task", "", department] += 1
    accepted, completed = task["accepted_at"], task["completed_at"]
    if accepted is not None:
        counts["task_accepted", "", department] += 1
        counts["task_accepted_on_time", "", department] += accepted <= task["accept_due"]
        counts["task_accept_us", "", department] += _microseconds(accepted - task["summoned_at"])
        if completed is not None:
            counts["task_completed", "", department] += 1
            counts["task_completion_us", "", department] += _microseconds(completed - accepted)
    if completed is not None and task["work_due"] is not None:
        counts["task_completed_on_time", "", department] += completed <= task["work_due"]
    return +counts


def task_score_counts(departments: Iterable[str], score: int | None) -> Counter[Key]:
    """A case's score as its tasks' departments count it (one per task: a department's mean over its tasks)."""
    counts: Counter[Key] = Counter()
    if score is not None:
        for department in departments:
            counts["task_scored", "", department] += 1
            counts["task_score_sum", "", department] += score
    return counts


def _microseconds(delta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _truthy(value: object) -> bool:
    return value is True or str(value).lower() == "true"


class Delta:
    """Signed counts per (dims, key), written in one statement in key order (so that writers never deadlock)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[Dims, Key]] = Counter()

    def add(self, where: Dims, counts: Counter[Key], sign: int = 1) -> None:
        for key, n in counts.items():
            self.counts[where, key] += sign * n

    def columns(self) -> list[list]:
        """The delta as the arrays `write_rollups` takes, in key order (so that writers never deadlock)."""
        rows = sorted((where, key, n) for (where, key), n in self.counts.items() if n)
        return [list(column) for column in zip(*[(*where, *key, n) for where, key, n in rows], strict=True)] or [
            [] for _ in range(9)
        ]

    async def write(self, connection: asyncpg.Connection) -> None:
        if any(self.counts.values()):
            await connection.execute(f"WITH {write_rollups(1)} SELECT", *self.columns())


def write_rollups(first: int) -> str:
    """Common table expressions adding a `Delta`'s columns ($`first` to $`first + 8`) to the day's rows, the
    month's (summed) and the day's trend row, each in key order; a statement of its own or part of the projection's
    write."""
    day, compound, community, street, district, figure, level, org, n = (
        f"${first + i}::{kind}[]" for i, kind in enumerate(["date", *["text"] * 7, "bigint"])
    )
    return f"""
delta AS (
    SELECT * FROM unnest({day}, {compound}, {community}, {street}, {district}, {figure}, {level}, {org}, {n})
           AS d(day, compound, community, street, district, figure, level, org, n)
),
daily AS (
    INSERT INTO statistics_rollups (day, compound, community, street, district, figure, level, org, n)
    SELECT * FROM delta
    ON CONFLICT (day, compound, figure, level, org) DO UPDATE SET n = statistics_rollups.n + EXCLUDED.n
),
monthly AS (
    INSERT INTO statistics_rollups_monthly (month, compound, community, street, district, figure, level, org, n)
    SELECT date_trunc('month', day)::date, compound, community, street, district, figure, level, org, sum(n)
      FROM delta GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 6, 7, 8
    ON CONFLICT (month, compound, figure, level, org) DO UPDATE SET n = statistics_rollups_monthly.n + EXCLUDED.n
),
trend AS (
    INSERT INTO statistics_trend (day, compound, community, street, district, reported, stints, breaches)
    SELECT day, compound, community, street, district, coalesce(sum(n) FILTER (WHERE figure = 'reported'), 0),
           coalesce(sum(n) FILTER (WHERE figure = 'stint'), 0), coalesce(sum(n) FILTER (WHERE figure = 'breach'), 0)
      FROM delta WHERE figure IN ('reported', 'stint', 'breach') GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2
    ON CONFLICT (day, compound) DO UPDATE SET reported = statistics_trend.reported + EXCLUDED.reported,
        stints = statistics_trend.stints + EXCLUDED.stints, breaches = statistics_trend.breaches + EXCLUDED.breaches
)"""


async def lock_case(connection: asyncpg.Connection, case_id: str) -> None:
    await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 16))", case_id)


class Locked:
    """What the case projection read under the case's lock (migration 020's `statistics_case_locked`): the case's
    level `owners`, its row before (`old`, None for a new case), its earlier events of `PER_CASE_KINDS`, which of
    the projection's event numbers are `stored` already, the `day` it is filed under (None: left to the backfill;
    a new case's day to file it under) and whether it `has_tasks`."""

    def __init__(self, case: Mapping, row: Mapping) -> None:
        self.owners = Parties(row["company"], case["community"], case["street"], row["centre"])
        self.old, self.earlier = row["old"], row["earlier"] or []
        self.day, self.has_tasks = row["day"], row["has_tasks"]
        self.stored = frozenset(row["stored"] or ())

    @property
    def filing(self) -> date | None:
        """The day to file a new case under (None when the case is filed already or left to the backfill)."""
        return self.day if self.old is None else None

    def advances(self, last_seq: int) -> bool:
        """Whether a row of `last_seq` replaces the stored one (the write's condition too)."""
        return self.old is None or self.old["last_seq"] < last_seq


async def lock_and_read(connection: asyncpg.Connection, case: Mapping, events: list[Mapping]) -> Locked:
    """Take the case's lock (`lock_case`), then read what `projection_delta` needs for the projection's `events`
    (the earlier per-case events only if one of these is such an event): one statement. The rest of the transaction
    runs its statements' generic plans (migration 020 says why)."""
    row = await connection.fetchrow(
        "SELECT * FROM statistics_case_locked($1, $2, $3, $4, $5, $6, $7)",
        case["case_id"],
        [event["seq"] for event in events],
        list(PER_CASE_KINDS) if any(event["kind"] in PER_CASE_KINDS for event in events) else [],
        deployment_zone().key,
        case["reported_at"],
        case["compound"],
        case["district"],
    )
    return Locked(case, row)


async def projection_delta(
    connection: asyncpg.Connection, locked: Locked, new: Mapping | None, inserted: list[Mapping]
) -> Delta:
    """What one projection adds to the roll-ups, worked out under the case's lock from what `lock_and_read` read:
    `new` is the row it writes (None when the stored row is newer), `inserted` the events it adds (those not
    stored yet)."""
    delta = Delta()
    old, owners = locked.old, locked.owners
    case, day = new or old, locked.day
    if case is None or day is None:
        return delta  # a case written before the roll-ups (or beside them): the backfill adds the whole case
    if new is not None:
        if old is not None:
            delta.add(dims(old, day), case_counts(old, owners), -1)
        delta.add(dims(new, day), case_counts(new, owners))
    delta.add(dims(case, day), event_counts(inserted, owners))
    scores = (None if old is None else old["score"], None if new is None else new["score"])
    # a new case's tasks (one may have waited for its case), or a verdict its tasks' departments count
    if locked.has_tasks and new is not None and (old is None or scores[0] != scores[1]):
        tasks = await _tasks(connection, [case["case_id"]])
        departments = [task["department"] for task in tasks]
        delta.add(dims(case, day), task_score_counts(departments, scores[0]), -1)
        delta.add(dims(case, day), task_score_counts(departments, scores[1]))
        if old is None:
            for task in tasks:
                delta.add(dims(case, day), task_counts(task))
    if any(e["kind"] in PER_CASE_KINDS for e in inserted):
        delta.add(dims(case, day), case_event_counts(locked.earlier, owners), -1)
        delta.add(dims(case, day), case_event_counts([*locked.earlier, *inserted], owners))
    return delta


async def project_task(connection: asyncpg.Connection, old: Mapping | None, new: Mapping | None) -> None:
    """Add to the roll-ups what one task projection changed, inside its transaction and under its case's
    `lock_case`: `old` is the task row before (None for a new task), `new` the row written (None if it was older)."""
    if new is None:
        return
    case = await connection.fetchrow(
        "SELECT r.day, c.* FROM statistics_rolled_up r JOIN cases c USING (case_id) WHERE r.case_id = $1",
        new["case_id"],
    )
    if case is None:
        return  # not rolled up yet: the backfill adds the case with its tasks
    delta = Delta()
    where = dims(case, case["day"])
    if old is None:
        delta.add(where, task_score_counts([new["department"]], case["score"]))
    else:
        delta.add(where, task_counts(old), -1)
    delta.add(where, task_counts(new))
    await delta.write(connection)


async def _tasks(connection: asyncpg.Connection, case_ids: list[str]) -> list[Mapping]:
    return await connection.fetch(
        """SELECT case_id, department, summoned_at, accept_due, work_due, accepted_at, completed_at
             FROM department_tasks WHERE case_id = ANY($1::text[])""",
        case_ids,
    )


async def _file(connection: asyncpg.Connection, case_ids: list[str]) -> dict[str, date]:
    """Record the cases as rolled up, each under its local report day; returns those not already recorded."""
    return dict(
        await connection.fetch(
            """INSERT INTO statistics_rolled_up (case_id, day, zone)
               SELECT case_id, (reported_at AT TIME ZONE $2)::date, $2 FROM cases WHERE case_id = ANY($1::text[])
               ON CONFLICT DO NOTHING RETURNING case_id, day""",
            case_ids,
            deployment_zone().key,
        )
    )


# A row of no zone: the roll-ups lack cases until a backfill is through (migration 016 adds it too).
_INCOMPLETE = "INSERT INTO statistics_rolled_up (case_id, day, zone) VALUES ('', 'infinity', '') ON CONFLICT DO NOTHING"


# Whether some case is filed under a day of another zone than $1 (WHISTLE_TIMEZONE changed since), or a backfill is
# not through (the `_INCOMPLETE` row of zone ''): then the roll-ups cannot answer. The least and greatest zones are
# read from the zone index whatever the plan; "a zone other than $1" read as `zone <> $1` or `zone < $1 OR …`, a
# prepared statement's generic plan scans every case filed (a row per case) to find there is none.
FILED_ELSEWHERE = """coalesce((SELECT min(zone) FROM statistics_rolled_up) <> $1
                             OR (SELECT max(zone) FROM statistics_rolled_up) <> $1, false)"""


async def filed_elsewhere(connection: asyncpg.Connection) -> bool:
    """Whether the roll-ups cannot answer (`FILED_ELSEWHERE` in the deployment's zone)."""
    return await connection.fetchval(f"SELECT {FILED_ELSEWHERE}", deployment_zone().key)


async def backfill(
    connection: asyncpg.Connection,
    *,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
    rebuild: bool = False,
) -> int:
    """Add every case not yet in the roll-ups, a batch per transaction: resumable, and idempotent.

    `rebuild` first empties the roll-ups (after a change of WHISTLE_TIMEZONE: days are the zone's). Until the
    backfill is through, the `_INCOMPLETE` row makes figures count in one pass. `progress(done, total)` is called
    after each batch. Returns the number of cases added now.
    """
    if rebuild:
        async with connection.transaction():
            await connection.execute(
                """LOCK TABLE statistics_rolled_up, statistics_rollups, statistics_rollups_monthly, statistics_trend
                   IN EXCLUSIVE MODE"""
            )
            await connection.execute(
                "TRUNCATE statistics_rollups, statistics_rollups_monthly, statistics_trend, statistics_rolled_up"
            )
            await connection.execute(_INCOMPLETE)
    total = await connection.fetchval(
        """SELECT count(*) FROM cases c
            WHERE NOT EXISTS (SELECT 1 FROM statistics_rolled_up r WHERE r.case_id = c.case_id)"""
    )
    done, after = 0, ""
    while True:
        async with connection.transaction():
            # on from the last batch (a case the projection writes meanwhile is filed by the projection): each
            # batch reads its own cases, not every case filed before them again
            cases = await connection.fetch(
                """SELECT c.* FROM cases c
                    WHERE c.case_id > $2
                      AND NOT EXISTS (SELECT 1 FROM statistics_rolled_up r WHERE r.case_id = c.case_id)
                    ORDER BY c.case_id LIMIT $1""",
                batch,
                after,
            )
            if not cases:
                await connection.execute("DELETE FROM statistics_rolled_up WHERE case_id = ''")
                return done
            ids = sorted(case["case_id"] for case in cases)
            after = ids[-1]
            # in one order, so that a concurrent projection never deadlocks with it
            await connection.execute(
                """SELECT pg_advisory_xact_lock(hashtextextended(id, 16))
                     FROM (SELECT id FROM unnest($1::text[]) AS id ORDER BY id) ordered""",
                ids,
            )
            days = await _file(connection, ids)
            # read after the locks: a row read before them may be older than the one now committed
            filed = await connection.fetch(
                "SELECT * FROM cases WHERE case_id = ANY($1::text[]) ORDER BY case_id", list(days)
            )
            events: dict[str, list[Mapping]] = {case_id: [] for case_id in days}
            for event in await connection.fetch(
                """SELECT case_id, seq, kind, level, details FROM case_events
                    WHERE case_id = ANY($1::text[]) AND kind = ANY($2::text[])""",
                list(days),
                list(_EVENT_KINDS),
            ):
                events[event["case_id"]].append(event)
            tasks: dict[str, list[Mapping]] = {case_id: [] for case_id in days}
            for task in await _tasks(connection, list(days)):
                tasks[task["case_id"]].append(task)
            delta = Delta()
            for case, owners in zip(filed, await parties(connection, filed), strict=True):
                where = dims(case, days[case["case_id"]])
                delta.add(where, case_counts(case, owners))
                for task in tasks[case["case_id"]]:
                    delta.add(where, task_counts(task))
                delta.add(
                    where, task_score_counts((task["department"] for task in tasks[case["case_id"]]), case["score"])
                )
                delta.add(where, event_counts(events[case["case_id"]], owners))
                delta.add(where, case_event_counts(events[case["case_id"]], owners))
            await delta.write(connection)
        done += len(cases)
        if progress is not None:
            progress(done, total)
