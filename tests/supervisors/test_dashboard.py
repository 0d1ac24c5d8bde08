"""Supervisors' surfaces over the scripted scenario: the JSON API, `whistle stats` / `whistle rankings`, and
the web dashboard in real headless Chromium (Debian's chromium, driven by Playwright; no browser download)."""

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from activities.db import connect
from activities.statistics import statistics
from api import keys
from api.dashboard import COOKIE
from client.settings import Settings
from client.startup import listen
from devstack.services import ApiServer
from schemas.case import EventKind
from schemas.keys import Role
from schemas.ranking import Cadence, RankingPeriod
from schemas.statistics import Statistics, StatisticsQuery
from schemas.task import TaskActor, TaskExtension, task_workflow_id
from tests.supervisors.scenario import rank
from tests.waiting import WITHIN, eventually
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

BEIJING = ZoneInfo("Asia/Shanghai")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WHISTLE = Path(sys.executable).parent / "whistle"
PAGE_MS = WITHIN * 1000


@dataclass
class Served:
    url: str
    settings: Settings
    supervisor_key: str
    street_key: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(time_env, database_url, scripted) -> AsyncIterator[Served]:
    """The real API app served over HTTP by uvicorn on a free port, against the scenario's servers."""
    connection = await connect(database_url)
    try:
        supervisor = (await keys.issue(connection, "HP-CENTRE", Role.SUPERVISOR)).key
        street = (await keys.issue(connection, "HP-DF", Role.STREET)).key
    finally:
        await connection.close()
    settings = Settings(
        temporal_address=time_env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=scripted.task_queue,
    )
    listener = listen("127.0.0.1", 0, "dashboard test")
    server = ApiServer(settings, listener)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    await eventually(lambda: server.started or serving.done(), what="uvicorn to serve")
    assert server.started, serving.exception()
    port = listener.getsockname()[1]
    yield Served(url=f"http://127.0.0.1:{port}", settings=settings, supervisor_key=supervisor, street_key=street)
    server.should_exit = True
    await serving
    listener.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_statistics_api_answers_the_same_figures_as_the_read_model(served, pool, scripted):
    params = {"as_of": scripted.as_of.isoformat()}
    async with httpx.AsyncClient(base_url=served.url) as http:
        answer = await http.get("/v1/supervisor/statistics", params=params, headers=bearer(served.supervisor_key))
        assert answer.status_code == 200, answer.text
        street = await http.get(
            "/v1/supervisor/statistics",
            params=params | {"jurisdiction": "HP-XH"},
            headers=bearer(served.supervisor_key),
        )
        unknown = await http.get(
            "/v1/supervisor/statistics", params={"jurisdiction": "NOWHERE"}, headers=bearer(served.supervisor_key)
        )
        reversed_period = await http.get(
            "/v1/supervisor/statistics",
            params={"since": scripted.as_of.isoformat(), "until": scripted.started.isoformat()},
            headers=bearer(served.supervisor_key),
        )
        street_key = await http.get("/v1/supervisor/statistics", headers=bearer(served.street_key))
        anonymous = await http.get("/v1/supervisor/statistics")
    async with pool.acquire() as connection:
        expected = await statistics(connection, StatisticsQuery(jurisdiction="HP", as_of=scripted.as_of))
    assert Statistics.model_validate(answer.json()) == expected  # the district of the caller's key
    assert (street.json()["reported"], street.json()["overdue_now"]) == (1, 1)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "unknown jurisdiction 'NOWHERE'")
    assert reversed_period.status_code == 422 and reversed_period.json()["detail"][0]["msg"] == "since 须早于 until"
    assert street_key.status_code == 403 and "SUPERVISE" in street_key.json()["detail"]
    assert anonymous.status_code == 401


async def test_rankings_api_and_cli(served, time_env, scripted):
    label = RankingPeriod.containing(scripted.started, Cadence.MONTH).label
    async with httpx.AsyncClient(base_url=served.url) as http:
        before = await http.get(
            "/v1/supervisor/rankings", params={"period": label}, headers=bearer(served.supervisor_key)
        )
        await rank(time_env, scripted, label)
        after = await http.get("/v1/supervisor/rankings", headers=bearer(served.supervisor_key))
        bad = await http.get(
            "/v1/supervisor/rankings", params={"period": "2026-13"}, headers=bearer(served.supervisor_key)
        )
    assert before.status_code == 404
    assert after.status_code == 200 and after.json()["period"]["label"] == label
    red = [e["org"] for e in after.json()["entries"] if e["kind"] == "PROPERTY_COMPANY" and e["board"] == "RED"]
    assert red == ["PM-LVYUAN", "PM-JINDI"]
    assert bad.status_code == 422 and "2026-13" in bad.json()["detail"][0]["msg"]

    printed = whistle(served, "rankings", "--period", label)
    assert printed.returncode == 0, printed.stderr
    assert "红黑榜 " + label in printed.stdout and "PM-HUAXIA" not in printed.stdout  # names are shown
    assert "华夏物业" in printed.stdout and "BLACK" in printed.stdout


def whistle(served: Served, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("TEMPORAL_", "WHISTLE_"))}
    environment |= {
        "TEMPORAL_ADDRESS": served.settings.temporal_address,
        "DATABASE_URL": served.settings.database_url,
        "WHISTLE_TASK_QUEUE": served.settings.task_queue,
        "COLUMNS": "200",
    }
    return subprocess.run([str(WHISTLE), *args], env=environment, capture_output=True, text=True, timeout=60)


async def test_whistle_stats_prints_the_figures(served, scripted):
    printed = await asyncio.to_thread(whistle, served, "stats", "--street", "HP-XH")
    assert printed.returncode == 0, printed.stderr
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in printed.stdout.splitlines()
        if line.count("│") == 3
    }
    assert lines["cases reported"] == "1"
    assert lines["whistles: manual / automatic"] == "0 / 3"
    assert lines["SLA compliance, all levels"] == "0.0% (0/4)"
    unknown = await asyncio.to_thread(whistle, served, "stats", "--street", "NOWHERE")
    assert unknown.returncode == 1 and "unknown jurisdiction 'NOWHERE'" in unknown.stderr


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        # `make test` installs it (apt-get); only a machine that cannot install packages gets here
        pytest.skip(f"{CHROMIUM} is missing and could not be installed (`apt-get install chromium`)")
    return CHROMIUM


async def test_supervisor_signs_in_sees_an_overdue_case_and_supervises_it(served, scripted, time_env, chromium):
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = await browser.new_page()
        page.set_default_timeout(PAGE_MS)  # for elements and pages (30 s by default): CI is a busy machine
        await page.goto(f"{served.url}/dashboard/")
        assert page.url.endswith("/dashboard/login")
        await page.fill("input[name=key]", "whk_not_a_key")
        await page.click("button[type=submit]")
        assert "unknown or revoked API key" in await page.text_content("[role=alert]")
        await page.fill("input[name=key]", served.supervisor_key)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/dashboard/")
        assert await page.text_content("#reported") == "4"

        await page.click("text=Deadlines & overdue")
        row = page.locator("#deadlines tr.late", has_text=scripted.fumes)
        assert "overdue" in await row.locator(".countdown").text_content()
        await row.locator("a").click()
        await page.wait_for_url(f"**/dashboard/cases/{scripted.fumes}")
        assert "overdue" in await page.text_content("#case-status")

        await page.fill("#supervise input[name=reason]", "restaurant fumes for a week: act today")
        await page.click("#supervise button")
        assert "Done: supervised" in await page.text_content("[role=status]")
        assert "restaurant fumes for a week: act today" in await page.text_content("#timeline")
        await browser.close()

    view = await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").query(CaseWorkflow.view)
    supervised = [event for event in view.timeline if event.kind is EventKind.SUPERVISED]
    assert [(e.actor, e.details["reason"]) for e in supervised] == [
        ("HP-CENTRE", "restaurant fumes for a week: act today")
    ]

    # the same form sent twice (a double click, a resubmitted page) supervises once
    async with httpx.AsyncClient(base_url=served.url, cookies={COOKIE: served.supervisor_key}) as http:
        page = (await http.get(f"/dashboard/cases/{scripted.fumes}")).text
        form_key = re.search(r'name="form_key" value="([0-9a-f]{32})"', page).group(1)
        form = {"form_key": form_key, "action": "URGE", "reason": "second reminder"}
        for _ in range(2):
            sent = await http.post(f"/dashboard/cases/{scripted.fumes}/supervise", data=form)
            assert sent.status_code == 303
    view = await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").query(CaseWorkflow.view)
    assert [e.details["reason"] for e in view.timeline if e.kind is EventKind.SUPERVISED] == [
        "restaurant fumes for a week: act today",
        "second reminder",
    ]


async def case_shows(time_env, case_id: str, predicate, within: float = 10.0):
    """A department's change reaches its case by a signal: wait (bounded) until the case view shows it."""
    handle = time_env.client.get_workflow_handle(f"case-{case_id}")
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while not predicate(view := await handle.query(CaseWorkflow.view)):
        assert loop.time() < give_up, f"case {case_id} never showed the expected state"
        await asyncio.sleep(0.05)
    return view


async def test_the_street_cannot_conclude_while_a_department_still_works(served, scripted, database_url):
    # the fumes case (street HP-XH): HB returned, CGZF accepted and still working
    connection = await connect(database_url)
    try:
        street = (await keys.issue(connection, "HP-XH", Role.STREET)).key
    finally:
        await connection.close()
    async with httpx.AsyncClient(base_url=served.url) as http:
        refused = await http.post(
            f"/v1/handler/cases/{scripted.fumes}/conclude",
            json={"reason": "the fumes stopped"},
            headers=bearer(street) | {"Idempotency-Key": "conclude-fumes-1"},
        )
        other_street = await http.post(
            f"/v1/handler/cases/{scripted.fumes}/conclude",
            json={"reason": "the fumes stopped"},
            headers=bearer(served.street_key),
        )
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
    assert "区城管执法局仍在办理" in refused.json()["detail"]  # the API speaks Chinese by default, with names
    assert other_street.status_code == 403 and "只有新华街道" in other_street.json()["detail"]
    printed = await asyncio.to_thread(
        whistle, served, "case", "act", scripted.fumes, "conclude", "--as", "HP-XH", "--reason", "the fumes stopped"
    )
    assert printed.returncode == 1 and "CGZF still working" in printed.stderr


async def test_supervisor_sees_and_approves_a_department_extension_in_beijing_time(
    served, scripted, time_env, chromium
):
    from playwright.async_api import async_playwright

    cgzf = TaskActor(department="CGZF")
    task = time_env.client.get_workflow_handle_for(DepartmentTaskWorkflow.run, task_workflow_id(scripted.fumes, "CGZF"))
    work_due = (await task.query(DepartmentTaskWorkflow.view)).work_due
    # asked the way a Beijing clerk types it: 18:00 at +08:00, a few days after the current deadline
    until = (work_due + timedelta(days=3)).astimezone(BEIJING).replace(hour=18, minute=0, second=0, microsecond=0)
    await task.execute_update(
        DepartmentTaskWorkflow.request_extension, TaskExtension(actor=cgzf, until=until, reason="awaiting a permit")
    )
    await case_shows(time_env, scripted.fumes, lambda v: any(t.extension for t in v.tasks))

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(f"{served.url}/dashboard/login")
        await page.fill("input[name=key]", served.supervisor_key)
        await page.click("button[type=submit]")
        await page.goto(f"{served.url}/dashboard/cases/{scripted.fumes}")
        pending = await page.text_content("#task-extension-CGZF")
        assert f"asks until {until:%Y-%m-%d} 18:00 北京时间: awaiting a permit" in pending
        shown = await page.text_content("main")
        assert "UTC" not in shown
        reported = (await case_shows(time_env, scripted.fumes, lambda v: True)).reported_at
        assert f"{reported.astimezone(BEIJING):%Y-%m-%d %H:%M} 北京时间" in shown  # recorded in UTC, shown converted

        await page.fill("#task-extension-CGZF input[name=reason]", "permit office confirmed the date")
        await page.click("#task-extension-CGZF button[value=true]")
        assert "Done: decided CGZF" in await page.text_content("[role=status]")
        assert await page.locator("#task-extension-CGZF").count() == 0  # decided: no longer pending
        assert "No department asks for more time" in await page.text_content("main")
        assert f"{until:%m-%d} 18:00" in await page.text_content("table:has-text('work due')")
        await browser.close()

    view = await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").query(CaseWorkflow.view)
    decided = [(e.kind, e.actor) for e in view.timeline if e.kind.startswith("TASK_EXTENSION")]
    assert decided == [
        (EventKind.TASK_EXTENSION_REQUESTED, "CGZF"),
        (EventKind.TASK_EXTENSION_APPROVED, "HP-CENTRE"),
    ]
    assert (await task.query(DepartmentTaskWorkflow.view)).work_due == until
