"""WHISTLE_DEFAULT_POLICY: the SLA policy of every case reported without one (HTTP, Open311, the CLI), so a
training or acceptance stack can run on deadlines of seconds. Residents never choose the policy."""

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from client import cases
from client.settings import Settings
from tests.api.conftest import serving
from tests.conftest import whistle_cli
from tests.waiting import HTTP_TIMEOUT
from workers.worker import build_worker

WHISTLE = Path(sys.executable).parent / "whistle"
REPORT = {  # every report on a compound of its own: a second one on the same compound would link to the first
    "category": "CORRIDOR_CLUTTER",
    "severity": "ORDINARY",
    "description": "bikes block the stairwell",
}
COUNCIL_ORDINARY = {"demo-fast": timedelta(seconds=30), "default": timedelta(minutes=30)}


@pytest.mark.parametrize("configured, compound", [("demo-fast", "HP-DF-QH-1"), (None, "HP-DF-QH-2")])
async def test_cases_reported_over_http_get_the_deployment_default_policy(
    time_env, pool, database_url, task_queue, configured, compound
):
    settings = Settings(
        temporal_address=time_env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=task_queue,
        **({"default_policy": configured} if configured else {}),
    )
    async with build_worker(time_env.client, pool, task_queue), serving(settings) as url:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=url) as http:
            reported = await http.post("/v1/cases", json=REPORT | {"compound": compound})
            chosen = await http.post("/v1/cases", json=REPORT | {"compound": compound, "policy": "default"})
        assert reported.status_code == 201 and reported.json()["outcome"] == "CREATED", reported.text
        view = await cases.wait_until_open(time_env.client, reported.json()["case_id"])
    assert view.stage.budget == COUNCIL_ORDINARY[configured or "default"]
    assert chosen.status_code == 422 and "policy" in chosen.text  # a resident cannot pick one


async def test_the_cli_reports_on_the_default_policy_unless_told(time_env, pool, database_url, task_queue, monkeypatch):
    monkeypatch.setenv("WHISTLE_DEFAULT_POLICY", "demo-fast")
    monkeypatch.setenv("WHISTLE_TASK_QUEUE", task_queue)
    report = ["case", "report", "--category", "CORRIDOR_CLUTTER", "--severity", "ORDINARY", "--description", "bikes"]
    async with build_worker(time_env.client, pool, task_queue):
        budgets = []
        for compound, told in (("HP-DF-YL-1", []), ("HP-DF-YL-2", ["--policy", "default"])):
            printed = await whistle_cli(time_env, database_url, *report, "--compound", compound, *told)
            assert "已立案" in printed, printed
            view = await cases.wait_until_open(time_env.client, printed.split()[0])
            budgets.append(view.stage.budget)
    assert budgets == [COUNCIL_ORDINARY["demo-fast"], COUNCIL_ORDINARY["default"]]


def test_an_unknown_default_policy_stops_the_api_with_one_line(database_url):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("TEMPORAL_", "DATABASE_URL", "WHISTLE_"))
    } | {
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "DATABASE_URL": database_url,
        "WHISTLE_API_PORT": str(port),
        "WHISTLE_DEFAULT_POLICY": "demo-fsat",
    }
    result = subprocess.run([str(WHISTLE), "api"], env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        "whistle: WHISTLE_DEFAULT_POLICY 'demo-fsat' is not an SLA policy of the registry "
        "(default, demo-fast, working-days)"
    ]
