"""Observability over a real stack (the API served by uvicorn, a worker on the dev server, PostgreSQL): a
request's id comes back in `X-Request-ID`, is in the API's access line and in the worker's line for the
workflow start or update the request caused; /metrics counts requests."""

import re
import uuid

import httpx
import pytest_asyncio

from client import temporal
from client.settings import Settings
from tests.api.conftest import bearer, serving, settings_for
from tests.resident.conftest import (
    free_port,
    log_lines,  # noqa: F401 (a fixture: every log line, as production renders it)
)
from tests.waiting import HTTP_TIMEOUT, eventually
from workers.worker import build_worker


@pytest_asyncio.fixture(loop_scope="session")
async def api(dev_env, pool, database_url, task_queue):
    async with (
        build_worker(dev_env.client, pool, task_queue),
        serving(settings_for(dev_env, database_url, task_queue)) as url,
    ):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http


def _lines_with(lines: list[str], *texts: str) -> list[str]:
    return [line for line in lines if all(text in line for text in texts)]


async def test_a_request_id_reaches_the_access_log_and_the_worker(api, api_keys, log_lines):  # noqa: F811
    reported = await api.post(
        "/v1/cases",
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"compound": "HP-DF-QH-1", "category": "LIFT_MAINTENANCE", "description": "the lift stops between floors"},
    )
    assert reported.status_code == 201, reported.text
    report_id = reported.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", report_id)
    [access] = _lines_with(log_lines, '"http request"', report_id)
    assert '"route": "/v1/cases"' in access and '"status": 201' in access and '"method": "POST"' in access
    await eventually(lambda: _lines_with(log_lines, "workflow started", report_id), what="the worker's start line")

    case_id = reported.json()["case_id"]
    once = str(uuid.uuid4())
    accepted = await api.post(
        f"/v1/handler/cases/{case_id}/accept",
        json={},
        headers={**bearer(api_keys["property"]), "Idempotency-Key": once},
    )
    assert accepted.status_code == 200, accepted.text
    accept_id = accepted.headers["X-Request-ID"]
    assert accept_id != report_id
    assert _lines_with(log_lines, '"http request"', accept_id, "/v1/handler/cases/{case_id}/accept", '"status": 200')
    [worker_line] = await eventually(
        lambda: _lines_with(log_lines, "update accept", accept_id), what="the worker's line for the update"
    )
    assert f"PM-LVYUAN:accept:{once}" in worker_line  # the update id stays the Idempotency-Key's
    assert case_id in worker_line

    from_a_proxy = uuid.uuid4().hex
    answered = await api.get("/healthz", headers={"X-Request-ID": from_a_proxy})
    assert answered.headers["X-Request-ID"] == from_a_proxy
    assert _lines_with(log_lines, '"http request"', from_a_proxy, '"route": "/healthz"')
    made_up = await api.get("/healthz", headers={"X-Request-ID": "not an id; drop table"})
    assert re.fullmatch(r"[0-9a-f]{32}", made_up.headers["X-Request-ID"])


async def test_metrics_count_requests_by_route_method_and_status(api):
    for _ in range(3):
        await api.get("/v1/supervisor/cases")  # 401: no key
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    counted = re.search(
        r'^http_requests_total\{handler="/v1/supervisor/cases",method="GET",status="401"\} (\d+)', metrics.text, re.M
    )
    assert counted and float(counted.group(1)) == 3
    assert "http_request_duration_seconds_bucket" in metrics.text
    assert 'handler="/metrics"' not in metrics.text


async def test_the_worker_exposes_the_temporal_sdks_own_metrics(dev_env, pool, task_queue):
    """WHISTLE_TEMPORAL_METRICS: the SDK's Prometheus endpoint (polls, task latencies, sticky cache, requests)."""
    address = f"127.0.0.1:{free_port()}"
    settings = Settings(temporal_address=dev_env.client.service_client.config.target_host, temporal_metrics=address)
    client = await temporal.connect(settings)
    async with build_worker(client, pool, task_queue), httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:

        async def scraped() -> str:
            try:
                return (await http.get(f"http://{address}/metrics")).text
            except httpx.TransportError:
                return ""

        metrics = await eventually(
            scraped, lambda text: f'task_queue="{task_queue}"' in text, what="the worker's metrics", show=len
        )
    assert re.search(rf'^temporal_worker_start\{{[^}}]*task_queue="{re.escape(task_queue)}"', metrics, re.M)
    assert "temporal_request" in metrics
