"""Figure 4: how late automatic escalations fire, read from the append-only `case_events` of the run's cases."""

import asyncpg

from bench.results import Latency

_LATENESS = """
    SELECT extract(epoch FROM at - (details->>'due')::timestamptz)::float8 AS lateness
      FROM case_events
     WHERE case_id = ANY($1::text[]) AND kind = 'SLA_BREACHED' AND details->>'what' IS NULL
"""
_AUTOMATIC = """
    SELECT count(*) FROM case_events
     WHERE case_id = ANY($1::text[]) AND kind = 'ESCALATED' AND (details->>'automatic')::boolean
"""


async def escalation_lateness(pool: asyncpg.Pool, case_ids: list[str]) -> tuple[int, Latency]:
    """Automatic escalations, and the lateness of the deadline breaches that fired them.

    A breach's event time is `workflow.now()` of the workflow task that handled the timer, so lateness
    covers the server firing the timer, the task waiting in the queue and the worker picking it up.
    """
    rows = await pool.fetch(_LATENESS, case_ids)
    escalations = await pool.fetchval(_AUTOMATIC, case_ids)
    return escalations, Latency.of([row["lateness"] for row in rows])
