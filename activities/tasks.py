"""Activities of the department task workflow: the `department_tasks` read model."""

import asyncpg
import structlog
from temporalio import activity

from activities import rollups
from schemas.task import TaskView, task_workflow_id

log = structlog.get_logger(__name__)

_COLUMNS = [
    "task_id",
    "case_id",
    "department",
    "role",
    "status",
    "summoned_at",
    "accept_due",
    "work_due",
    "accepted_at",
    "completed_at",
    "closed_reason",
    "result",
    "overdue",
    "supervision",
    "reminders",
    "version",
    "evidence_urls",
]
# A department summoned again (after a reroute) gets a new run of the same task id: newer summons win,
# and within one summons the higher version wins, so retries and late writes never go backwards.
_UPSERT = f"""
    INSERT INTO department_tasks ({", ".join(_COLUMNS)})
    VALUES ({", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))})
    ON CONFLICT (task_id) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "task_id")}
    WHERE (department_tasks.summoned_at, department_tasks.version) < (EXCLUDED.summoned_at, EXCLUDED.version)
    RETURNING *
"""


async def write_task(connection: asyncpg.Connection, task: TaskView) -> None:
    """The task row and the statistics roll-ups it changes (inside the caller's transaction)."""
    row = task.model_dump()
    await rollups.lock_case(connection, task.case_id)
    old = await connection.fetchrow("SELECT * FROM department_tasks WHERE task_id = $1", task.task_id)
    new = await connection.fetchrow(_UPSERT, *(row[c] for c in _COLUMNS))
    await rollups.project_task(connection, old, new)


class TaskActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def project_task(self, task: TaskView) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await write_task(connection, task)
        log.info("task projected", case_id=task.case_id, task_id=task.task_id, status=task.status, version=task.version)


async def kept_task(pool: asyncpg.Pool, case_id: str, department: str) -> TaskView | None:
    """The department's task as its workflow last answered `view`, from the read model (None if none)."""
    task_id = task_workflow_id(case_id, department)
    row = await pool.fetchrow("SELECT * FROM department_tasks WHERE task_id = $1", task_id)
    return None if row is None else TaskView.model_validate(dict(row))
