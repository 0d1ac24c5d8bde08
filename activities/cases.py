"""Activities of the case workflow: resolving the registry context and writing the read model."""

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import notifications, registry, rollups
from i18n.zone import deployment_zone
from schemas.case import CaseProjection, CaseView, ResidentRole, TimelineEvent
from schemas.registry import CaseContext, ContextRequest, VolunteerCredit

log = structlog.get_logger(__name__)

_CASE_COLUMNS = [
    "case_id",
    "status",
    "level",
    "severity",
    "category",
    "channel",
    "external_id",
    "district",
    "street",
    "community",
    "compound",
    "owner",
    "description",
    "reported_at",
    "updated_at",
    "deadline",
    "overdue",
    "supervision",
    "resolved_level",
    "resolved_at",
    "closed_at",
    "close_reason",
    "reopen_count",
    "unsatisfied_count",
    "first_time_satisfied",
    "score",
    "whistles",
    "auto_escalations",
    "reporters",
    "last_seq",
]
_UPSERT_CASE = f"""
    INSERT INTO cases ({", ".join(_CASE_COLUMNS)})
    VALUES ({", ".join(f"${i}" for i in range(1, len(_CASE_COLUMNS) + 1))})
    ON CONFLICT (case_id) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _CASE_COLUMNS if c != "case_id")}
    WHERE cases.last_seq < EXCLUDED.last_seq
    RETURNING *
"""


def _insert_events(first: int) -> str:
    """The events not yet written ($1 the case, the event columns' arrays from $`first` on), returning them."""
    arrays = ", ".join(
        f"${first + n}::{kind}[]" for n, kind in enumerate(("integer", "timestamptz", "text", "text", "text", "jsonb"))
    )
    return f"""
    INSERT INTO case_events (case_id, seq, at, kind, level, actor, details)
    SELECT $1, * FROM unnest({arrays})
    ON CONFLICT (case_id, seq) DO NOTHING
    RETURNING seq, kind, level, details
"""


_INSERT_EVENTS = _insert_events(2)
_EVENTS_FROM = len(_CASE_COLUMNS) + 1
# The projection's write, one statement after the case's lock: the events, the row (unless the stored one is
# newer), the case's filing under its day (a new case's) and what the roll-ups add (`rollups.Delta`).
_WRITE = f"""
WITH inserted AS ({_insert_events(_EVENTS_FROM)}),
new AS ({_UPSERT_CASE}),
filed AS (
    INSERT INTO statistics_rolled_up (case_id, day, zone)
    SELECT $1, ${_EVENTS_FROM + 6}::date, ${_EVENTS_FROM + 7}::text WHERE ${_EVENTS_FROM + 6}::date IS NOT NULL
    ON CONFLICT DO NOTHING
),
{rollups.write_rollups(_EVENTS_FROM + 8)}
SELECT
"""
_UPSERT_VIEW = """
    INSERT INTO case_views (case_id, last_seq, view, residents) VALUES ($1, $2, $3, $4)
    ON CONFLICT (case_id) DO UPDATE SET
        last_seq = EXCLUDED.last_seq, view = EXCLUDED.view, residents = EXCLUDED.residents
    WHERE case_views.last_seq < EXCLUDED.last_seq
"""


async def write_rows(connection: asyncpg.Connection, projection: CaseProjection) -> None:
    """The case row and its new events alone, as the projection wrote them before the roll-ups (the benchmark's
    yardstick for what the roll-ups cost)."""
    summary = projection.summary
    row = summary.model_dump()
    events = projection.events
    await connection.fetch(
        _INSERT_EVENTS,
        summary.case_id,
        [e.seq for e in events],
        [e.at for e in events],
        [e.kind for e in events],
        [e.level for e in events],
        [e.actor for e in events],
        [e.model_dump(mode="json")["details"] for e in events],
    )
    await connection.fetchrow(_UPSERT_CASE, *(row[c] for c in _CASE_COLUMNS))


async def write_projection(connection: asyncpg.Connection, projection: CaseProjection) -> None:
    """The case row, its new events and the statistics roll-ups they change (inside the caller's transaction):
    two statements, the case's lock with what the roll-ups need to know (`rollups.lock_and_read`), and the write."""
    summary = projection.summary
    row = summary.model_dump()
    events = projection.events
    details = [e.model_dump(mode="json")["details"] for e in events]
    written = [
        {"seq": e.seq, "kind": e.kind, "level": e.level, "details": said}
        for e, said in zip(events, details, strict=True)
    ]
    locked = await rollups.lock_and_read(connection, row, written)
    inserted = [event for event in written if event["seq"] not in locked.stored]
    new = row if locked.advances(summary.last_seq) else None
    delta = await rollups.projection_delta(connection, locked, new, inserted)
    await connection.execute(
        _WRITE,
        *(row[c] for c in _CASE_COLUMNS),
        [e.seq for e in events],
        [e.at for e in events],
        [e.kind for e in events],
        [e.level for e in events],
        [e.actor for e in events],
        details,
        locked.filing,
        deployment_zone().key,
        *delta.columns(),
    )


class CaseActivities:
    """Bound to one asyncpg pool; registered on the worker as bound methods."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def resolve_context(self, request: ContextRequest) -> CaseContext:
        async with self._pool.acquire() as connection:
            try:
                # the case's clock (the server's), which the workflow counts its deadlines on
                since = activity.info().scheduled_time
                return await registry.case_context(
                    connection, request.compound, request.category, request.policy, since
                )
            except registry.UnknownReference as err:
                raise ApplicationError(str(err), type="UnknownReference", non_retryable=True) from err

    @activity.defn
    async def credit_volunteer(self, credit: VolunteerCredit) -> None:
        """Pay a volunteer for a satisfied case, once per case whatever the retries."""
        async with self._pool.acquire() as connection, connection.transaction():
            paid = await connection.fetchval(
                """INSERT INTO volunteer_credits (case_id, volunteer, points) VALUES ($1, $2, $3)
                   ON CONFLICT (case_id) DO NOTHING RETURNING points""",
                credit.case_id,
                credit.volunteer,
                credit.points,
            )
            if paid is not None:
                await connection.execute(
                    "UPDATE volunteers SET points = points + $2 WHERE code = $1", credit.volunteer, paid
                )
        log.info("volunteer credited", case_id=credit.case_id, volunteer=credit.volunteer, points=credit.points)

    @activity.defn
    async def project(self, projection: CaseProjection) -> None:
        """Write the case row, its new events, their roll-ups and notifications in one transaction; replays change
        nothing."""
        summary = projection.summary
        async with self._pool.acquire() as connection, connection.transaction():
            await write_projection(connection, projection)
            if projection.view is not None:
                view = projection.view.model_dump_json()
                await connection.execute(_UPSERT_VIEW, summary.case_id, summary.last_seq, view, projection.residents)
            await notifications.enqueue(connection, projection)
        log.info(
            "case projected",
            case_id=summary.case_id,
            workflow_id=f"case-{summary.case_id}",
            level=summary.level,
            status=summary.status,
            last_seq=summary.last_seq,
        )


async def kept_view(pool: asyncpg.Pool, case_id: str) -> CaseView | None:
    """The case as its workflow last answered `view`, from the read model (None if it has no copy)."""
    row = await pool.fetchrow("SELECT last_seq, view FROM case_views WHERE case_id = $1", case_id)
    if row is None:
        return None
    # events are append-only: those up to the view's last_seq are exactly its timeline
    events = await pool.fetch(
        "SELECT seq, at, kind, level, actor, details FROM case_events WHERE case_id = $1 AND seq <= $2 ORDER BY seq",
        case_id,
        row["last_seq"],
    )
    view = CaseView.model_validate_json(row["view"])
    return view.model_copy(update={"timeline": [TimelineEvent.model_validate(dict(event)) for event in events]})


async def kept_residents(pool: asyncpg.Pool, case_id: str) -> dict[str, ResidentRole] | None:
    """Token hash -> role of the case's residents, from the read model (None if it has no copy)."""
    residents = await pool.fetchval("SELECT residents FROM case_views WHERE case_id = $1", case_id)
    return None if residents is None else {digest: ResidentRole(role) for digest, role in residents.items()}
