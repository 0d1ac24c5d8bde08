"""Schemathesis against the live stack: the API served by `whistle api` (uvicorn, a process of its own) on a
free port, wired to the real dev server, PostgreSQL and a running worker, with a valid key for every audience.
Every answer must be a non-5xx status the operation documents, with the documented content type and body
schema, and invalid input must be refused.

Bounded (a few derandomized examples per operation, positive and negative). Keys, case tokens and the id of a
real case are filled in, so generated bodies reach the workflow validators instead of stopping at
authentication.

The stateful run follows the API's OpenAPI links (api/links.py): a report's case id to its views, each view
to its actions and back, an Open311 request to its page, so the calls act on cases the run itself reported,
in the order the state machine draws.
"""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from activities.db import create_pool
from api.app import create_app
from client import temporal
from client.cases import report_case
from client.settings import Settings
from schemas.case import CaseReport
from tests.api.conftest import COMPOUND, bearer, settings_for
from workers.worker import build_worker

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class Stack:
    """A worker in a thread of its own (schemathesis calls synchronously) with the case it reported, and the
    URL of the API process."""

    settings: Settings
    keys: dict[str, str]
    url: str = ""
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_api(settings: Settings) -> tuple[subprocess.Popen, str]:
    """`whistle api` on a free port, once its /healthz answers that Temporal and PostgreSQL are reachable."""
    port = _free_port()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": settings.require_temporal_address(),
        "DATABASE_URL": settings.require_database_url(),
        "WHISTLE_TASK_QUEUE": settings.task_queue,
        "WHISTLE_API_PORT": str(port),
    }
    process = subprocess.Popen([str(Path(sys.executable).with_name("whistle")), "api"], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return process, url
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"whistle api did not become healthy on port {port} (exit code {process.poll()})")


@pytest.fixture(scope="module")
def stack(dev_env, database_url, api_keys):
    stack = Stack(settings_for(dev_env, database_url, f"whistle-schemathesis-{uuid.uuid4()}"), api_keys)
    thread = threading.Thread(target=stack.run, name="schemathesis-worker")
    thread.start()
    try:
        assert stack.ready.wait(60), "the worker did not report its case within 60 s"
        if stack.error is not None:
            raise stack.error
        api, stack.url = _serve_api(stack.settings)
        try:
            yield stack
        finally:
            api.terminate()
            api.wait(30)
    finally:
        stack.stop.set()
        thread.join(30)


@pytest.fixture(scope="module")
def session():
    with requests.Session() as session:
        yield session


def _document() -> dict:
    """The document only: schemathesis' lazy (fixture) schemas do not run on this pytest, so the schema comes
    from an app built from the same code as the one served."""
    settings = Settings(temporal_address="openapi-only:7233", database_url="postgresql://openapi-only/x")
    return create_app(settings).openapi()


schema = schemathesis.openapi.from_dict(_document())
# The declared links only: schemathesis would otherwise add hundreds it infers from names alone.
linked = schemathesis.openapi.from_dict(
    _document(),
    config=SchemathesisConfig.from_dict({"phases": {"stateful": {"inference": {"algorithms": []}}}}),
)


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_live_api_keeps_its_schema(case, stack, session):
    if case.path_parameters and "case_id" in case.path_parameters:
        case.path_parameters["case_id"] = stack.case_id
    if case.path == "/open311/v2/requests.json" and case.method == "POST" and isinstance(case.body, dict):
        case.body["api_key"] = stack.keys["open311"]
    case.headers = {**(case.headers or {}), **stack.headers_for(case.path)}
    case.call_and_validate(base_url=stack.url, session=session, checks=CHECKS, timeout=30)


# Reports the stateful run files: categories of the demo compound, so some open new cases and some follow one.
CATEGORIES = ("CORRIDOR_CLUTTER", "FLYING_WIRE", "ILLEGAL_CONSTRUCTION", "NOISE")
# What a valid report must name from the registry, set in the stateful run's valid reports (the stateless run
# tries the rest): the demo compound, so the handlers' keys reach the case, and a category of it.
OPEN311_UNPLACED = ("jurisdiction_id", "lat", "long", "address_id", "media_url", "phone", "attribute[severity]")


def _placed(case, category: str) -> None:
    if case.path == "/v1/cases":
        case.body.update(compound=COMPOUND, category=category, photo_urls=[], location=None, channel="HOTLINE")
    else:
        case.body.update({"service_code": category, "attribute[compound]": COMPOUND})
        case.body.setdefault("address_string", "Building 3")
        for field in OPEN311_UNPLACED:
            case.body.pop(field, None)


def test_live_api_keeps_its_schema_across_linked_calls(stack, session):
    """Report → view → act, on cases the run reports: each answer checked as above, and a case just reported is
    never 404."""
    failures: list[BaseException] = []
    reached: set[str] = set()  # operations answered, not 404, on a case the run reported

    class LiveApi(linked.as_state_machine()):
        def setup(self) -> None:
            self.tokens: dict[str, str] = {}  # case id → the X-Case-Token its report answered with
            self.reported: set[str] = set()

        def before_call(self, case) -> None:
            case_id = (case.path_parameters or {}).get("case_id")
            headers = stack.headers_for(case.path)
            reporting = case.method == "POST" and case.path in ("/v1/cases", "/open311/v2/requests.json")
            if reporting and case.meta.generation.mode.is_positive and isinstance(case.body, dict):
                _placed(case, CATEGORIES[len(self.reported) % len(CATEGORIES)])
            if case.path == "/v1/cases":
                headers = bearer(stack.keys["hotline"])
            elif case.path == "/open311/v2/requests.json" and isinstance(case.body, dict):
                case.body["api_key"] = stack.keys["open311"]
            elif case_id in self.tokens and case.path.startswith("/v1/cases/"):
                headers = {"X-Case-Token": self.tokens[case_id]}
            case.headers = {**(case.headers or {}), **headers}

        def after_call(self, response, case) -> None:
            super().after_call(response, case)
            if case.path == "/v1/cases" and case.method == "POST" and response.status_code in (200, 201):
                receipt = response.json()
                self.reported.add(receipt["case_id"])
                if receipt.get("token"):
                    self.tokens[receipt["case_id"]] = receipt["token"]
            elif (case.path_parameters or {}).get("case_id") in self.reported and response.status_code != 404:
                reached.add(f"{case.method} {case.path}")

        def get_call_kwargs(self, case) -> dict:
            return {"base_url": stack.url, "session": session, "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            try:
                case.validate_response(
                    response,
                    checks=[*CHECKS, ensure_resource_availability],
                    additional_checks=additional_checks,
                    transport_kwargs=kwargs,
                    recorder=self.recorder,
                )
            except Exception as failure:
                failures.append(failure)
                raise

    try:
        LiveApi.run(
            settings=settings(
                max_examples=16,
                stateful_step_count=10,
                phases=[Phase.generate],  # as schemathesis runs it: a replay meets the API in another state
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
        )
    except Flaky:
        # Hypothesis replays the start of earlier scenarios and stops when the live API, which remembers them
        # (a repeated Idempotency-Key, a second report of an issue), answers differently: like schemathesis'
        # own runner, that ends the exploration; a check that failed still fails the test.
        if failures:
            raise failures[0] from None
    assert any(operation.startswith("POST /v1/handler/cases/") for operation in reached), sorted(reached)
