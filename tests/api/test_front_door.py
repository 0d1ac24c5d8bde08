"""What a newcomer opens first: the API's address, its docs without internet, and signing in as a person made
with `whistle users create` (run here for real), offline too."""

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio

from schemas.keys import Role
from tests.conftest import whistle_cli
from tests.people import person
from tests.supervisors.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.waiting import HTTP_TIMEOUT

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RENDER_MS = 30_000


async def test_the_address_of_the_api_leads_to_sign_in_then_home(api_url, database_url):
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=api_url) as http:
        answer = await http.get("/")
        assert answer.status_code == 307 and answer.headers["location"] == "/signin"
        for org, role, home in (("HP-CENTRE", Role.SUPERVISOR, "/dashboard/"), ("HP-DF", Role.STREET, "/work/")):
            http.cookies = (await person(database_url, org, role)).cookies
            answer = await http.get("/")
            assert answer.status_code == 307 and answer.headers["location"] == home


@pytest_asyncio.fixture(loop_scope="session")
async def offline_page(api_url) -> AsyncIterator:
    """A Chromium page that may reach only this machine; `page.blocked` lists what it tried beyond."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (`apt-get install chromium`)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context()
        blocked: list[str] = []

        async def local_only(route) -> None:
            if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
                await route.continue_()
            else:
                blocked.append(route.request.url)
                await route.abort()

        await context.route("**/*", local_only)
        page = await context.new_page()
        page.blocked = blocked
        yield page
        await browser.close()


@pytest.mark.parametrize("docs, operation", [("/docs", ".opblock-summary-path"), ("/redoc", "[data-section-id]")])
async def test_api_docs_render_every_operation_without_internet(api_url, offline_page, docs, operation):
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=api_url) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    await offline_page.goto(api_url + docs)
    await offline_page.wait_for_selector(operation, timeout=RENDER_MS)
    shown = await offline_page.text_content("body")
    assert all(path in shown for path in paths), [path for path in paths if path not in shown]
    assert "/v1/cases" in paths and "/v1/supervisor/cases" in paths
    # it needs nothing from outside; ReDoc's "powered by" logo is the only outside address it names
    assert all(url.startswith("https://cdn.redoc.ly/redoc/logo") for url in offline_page.blocked), offline_page.blocked


async def test_a_person_made_with_whistle_users_signs_in_and_chooses_a_password(
    api_url, time_env, database_url, offline_page
):
    create = ("users", "create", "--account", "zhou.centre", "--name", "周主任", "--org", "HP-CENTRE")
    password = (await whistle_cli(time_env, database_url, *create, "--role", "supervisor")).strip()
    await offline_page.goto(f"{api_url}/dashboard/")
    await offline_page.fill("input[name=account]", "zhou.centre")
    await offline_page.fill("input[name=password]", password)
    await offline_page.click("button[type=submit]")
    await offline_page.wait_for_url(f"{api_url}/signin/password?next=/dashboard/", timeout=RENDER_MS)
    for field in ("password", "repeated"):
        await offline_page.fill(f"input[name={field}]", "zhou's own password")
    await offline_page.click("button[type=submit]")
    await offline_page.wait_for_url(f"{api_url}/dashboard/", timeout=RENDER_MS)
    assert "周主任" in await offline_page.text_content("#whoami")


def test_the_design_of_record_is_in_the_repository():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "](docs/design.md)" in readme and "../shared" not in readme
    assert (Path(__file__).parents[2] / "docs" / "design.md").read_text().startswith("# Whistle")
