"""Property-based run of schemathesis against the app's own OpenAPI: no input makes it answer 5xx.

Bounded (a few examples per operation). Keys, case tokens and case ids of a real case are filled in, so the
generated bodies reach the workflow validators instead of stopping at authentication.
"""

import asyncio
import threading
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from activities.db import create_pool
from api.app import create_app
from schemas.case import CaseReport
from tests.api.conftest import COMPOUND, bearer, settings_for
from tests.waiting import WITHIN
from workers import temporal
from workers.cases import report_case
from workers.settings import Settings
from workers.worker import build_worker


@dataclass
class Served:
    """A worker in a thread of its own (schemathesis calls the app synchronously, from its own event loop)."""

    settings: Settings
    keys: dict[str, str]
    case_id: str = ""
    token: str = ""
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to the test, which cannot see this thread otherwise
            self.error = error
            self.ready.set()

    async def _main(self) -> None:
        client = await temporal.connect(self.settings)
        pool = await create_pool(self.settings.require_database_url())
        try:
            async with build_worker(client, pool, self.settings.task_queue):
                report = CaseReport(compound=COMPOUND, category="NOISE", description="drums at midnight")
                reported = await report_case(client, pool, report, task_queue=self.settings.task_queue)
                self.case_id, self.token = reported.case_id, reported.token or ""
                self.ready.set()
                await asyncio.to_thread(self.stop.wait)
        finally:
            await pool.close()

    def headers_for(self, path: str) -> dict[str, str]:
        audiences = {
            "/v1/handler/": bearer(self.keys["property"]),
            "/v1/department/": bearer(self.keys["xf"]),
            "/v1/supervisor/": bearer(self.keys["centre"]),
            "/v1/cases/": {"X-Case-Token": self.token},
        }
        return next((headers for prefix, headers in audiences.items() if path.startswith(prefix)), {})


@pytest.fixture(scope="module")
def served(dev_env, database_url, api_keys, task_queue_module):
    served = Served(settings_for(dev_env, database_url, task_queue_module), api_keys)
    thread = threading.Thread(target=served.run, name="schemathesis-worker")
    thread.start()
    ready = served.ready.wait(WITHIN)
    if served.error is not None:
        raise served.error
    assert ready, f"the worker thread reported no case within {WITHIN:.0f} s"
    yield served
    served.stop.set()
    thread.join(30)


@pytest.fixture(scope="module")
def task_queue_module() -> str:
    import uuid

    return f"whistle-schemathesis-{uuid.uuid4()}"


@pytest.fixture(scope="module")
def app(served):
    return create_app(served.settings)


# The document only: schemathesis' lazy (fixture) schemas do not run on this pytest, so the schema comes from
# an app built from the same code, and each call goes to the fixture's app, which reaches the test servers.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(temporal_address="openapi-only:7233", database_url="postgresql://openapi-only/x")).openapi()
)


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_no_input_gives_a_server_error(case, served, app):
    if case.path_parameters and "case_id" in case.path_parameters:
        case.path_parameters["case_id"] = served.case_id
    if case.path == "/open311/v2/requests.json" and case.method == "POST" and isinstance(case.body, dict):
        case.body["api_key"] = served.keys["open311"]
    case.headers = {**(case.headers or {}), **served.headers_for(case.path)}
    case.call_and_validate(app=app, checks=[not_a_server_error])
