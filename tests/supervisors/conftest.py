"""Supervisors' tests share one scripted scenario per module, driven on the time-skipping server, the real API
served over HTTP against it, and a Chinese browser on Beijing time. Every sign-in step of these tests is here
(`sign_in`, `signed_in_http`): the one place to change when the dashboard's sign-in changes."""

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from activities.db import connect
from api import keys
from client.settings import Settings
from client.startup import listen
from devstack.services import ApiServer
from i18n.names import named_members
from schemas.keys import Role
from tests.people import SignedUp, person
from tests.people import sign_in as sign_in_as
from tests.supervisors import scenario
from tests.waiting import HTTP_TIMEOUT, WITHIN, eventually, projected, quiescent
from tests.workflows.conftest import Harness
from workers.worker import build_worker
from workflows.case import CaseWorkflow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_MS = WITHIN * 1000
SCREEN = {"width": 1360, "height": 900}
SCREENSHOTS = os.environ.get("WHISTLE_SCREENSHOTS")  # a folder: docs/screenshots to redo the README's pictures


async def all_projected(harness: Harness, pool) -> None:
    """Wait until each started case has finished its work and the read model holds every event it recorded."""
    for workflow_id in harness.started:
        handle = harness.client.get_workflow_handle(workflow_id)
        await quiescent(handle)
        await projected(pool, await handle.query(CaseWorkflow.view))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scripted(time_env, pool) -> AsyncIterator[scenario.Scenario]:
    """The scenario, run once for the module on its own database, replayed at the end."""
    harness = Harness(env=time_env, pool=pool, task_queue=f"whistle-supervisors-{uuid.uuid4()}")
    async with build_worker(time_env.client, pool, harness.task_queue):
        result = await scenario.run(harness)
        await all_projected(harness, pool)
        yield result
        await harness.replay()


@dataclass
class Served:
    url: str
    settings: Settings
    supervisor_key: str
    street_key: str
    supervisor: SignedUp  # a person of the district centre, signed in to the dashboard


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(time_env, database_url, scripted) -> AsyncIterator[Served]:
    """The real API app served over HTTP by uvicorn on a free port, against the scenario's servers."""
    connection = await connect(database_url)
    try:
        supervisor = (await keys.issue(connection, "HP-CENTRE", Role.SUPERVISOR)).key
        street = (await keys.issue(connection, "HP-DF", Role.STREET)).key
    finally:
        await connection.close()
    supervisor_person = await person(database_url, "HP-CENTRE", Role.SUPERVISOR, name="王督办")
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
    yield Served(
        url=f"http://127.0.0.1:{port}",
        settings=settings,
        supervisor_key=supervisor,
        street_key=street,
        supervisor=supervisor_person,
    )
    server.should_exit = True
    await serving
    listener.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        # `make test` installs it (apt-get); only a machine that cannot install packages gets here
        pytest.skip(f"{CHROMIUM} is missing and could not be installed (`apt-get install chromium`)")
    return CHROMIUM


@asynccontextmanager
async def beijing_browser(chromium: Path, viewport: dict[str, int] = SCREEN) -> AsyncIterator:
    """A page of a browser the way the supervisors use it: Chinese, on Beijing time."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=viewport)
        page = await context.new_page()
        page.set_default_timeout(PAGE_MS)  # for elements and pages (30 s by default): CI is a busy machine
        try:
            yield page
        finally:
            await browser.close()


async def sign_in(page, served: Served) -> None:
    """The browser `page` signs in as the district centre's supervisor and lands on the overview."""
    await sign_in_as(page, served.url, served.supervisor)
    await page.wait_for_url("**/dashboard/")


def signed_in_http(served: Served) -> httpx.AsyncClient:
    """An HTTP client signed in to the dashboard as the district centre's supervisor."""
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=served.url, cookies=served.supervisor.cookies)


async def picture(page, name: str) -> None:
    """With WHISTLE_SCREENSHOTS=docs/screenshots, the README's pictures of the dashboard are taken again."""
    if SCREENSHOTS:
        await page.screenshot(path=Path(SCREENSHOTS) / f"dashboard-{name}.png", full_page=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def raw_code(pool) -> re.Pattern:
    """Any code a person must not read: the registry's (organisations, places, categories) and every named
    enum member (REPORTED, COUNCIL, LEAD ...), as a whole word."""
    async with pool.acquire() as connection:
        registry = await connection.fetch(
            "SELECT code FROM jurisdictions UNION SELECT code FROM organisations UNION SELECT code FROM categories"
        )
    codes = {row["code"] for row in registry} | {member.value for member in named_members()}
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(codes, key=len, reverse=True))) + r")(?![\w-])")


async def shows_no_code(page, raw_code: re.Pattern) -> str:
    """The page's visible text, asserted free of codes."""
    shown = await page.inner_text("body")
    assert not raw_code.findall(shown), f"{page.url} shows codes {sorted(set(raw_code.findall(shown)))}"
    return shown
