"""Figure 4: how late automatic escalations fire, read from the append-only `case_events` of the run's cases."""

import asyncpg

from bench.results import Latency

# A breach event's own time is its deadline (a timer that fired fires at its due instant, see
# workflows/deadline.py), so lateness is read where the clock is the database's: the breach's first notice in
# the outbox, written by the projection right after the workflow task that handled the timer.
_LATENESS = """
    SELECT (e.details->>'due')::timestamptz AS due,
           extract(epoch FROM min(n.created_at) - (e.details->>'due')::timestamptz)::float8 AS lateness
      FROM case_events e JOIN notifications n ON n.case_id = e.case_id AND n.seq = e.seq
     WHERE e.case_id = ANY($1::text[]) AND e.kind = 'SLA_BREACHED' AND e.details->>'what' IS NULL
     GROUP BY e.case_id, e.seq, e.details
"""
_AUTOMATIC = """
    SELECT count(*) FROM case_events
     WHERE case_id = ANY($1::text[]) AND kind = 'ESCALATED' AND (details->>'automatic')::boolean
"""


async def breaches(pool: asyncpg.Pool, case_ids: list[str]) -> list[asyncpg.Record]:
    """Each automatic deadline breach of the cases: its `due` moment and its `lateness` in seconds."""
    return await pool.fetch(_LATENESS, case_ids)


async def escalation_lateness(pool: asyncpg.Pool, case_ids: list[str]) -> tuple[int, Latency]:
    """Automatic escalations, and the lateness of the deadline breaches that fired them.

    Lateness covers the server firing the timer, the task waiting in the queue, the worker running it and
    the projection writing the breach's notices.
    """
    rows = await breaches(pool, case_ids)
    escalations = await pool.fetchval(_AUTOMATIC, case_ids)
    return escalations, Latency.of([row["lateness"] for row in rows])
