"""The handlers' workbench in real headless Chromium (Debian's, driven by Playwright), Chinese on Beijing time,
against one live stack: uvicorn serving the real app, a worker, the time-skipping Temporal server, PostgreSQL.

People sign in as themselves and work two cases through the web only (the resident answers through the API):
a council case (the property company accepts, arrives and proposes, the owners' committee signs off, the
resident is unsatisfied, the case reopens) and a case that climbs to DISTRICT (the street whistles two
departments, one completes with evidence, the other returns, the street reroutes, the case resolves).
"""

import io
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest_asyncio
from PIL import Image

from api.auth import Principal
from api.workbench import POLL_SECONDS, permitted
from client import cases
from client.settings import Settings
from schemas.actions import CASE_RIGHTS, TASK_RIGHTS, ActionKind
from schemas.case import CaseReport, CaseView
from schemas.domain import Level, Severity, Status
from schemas.keys import Role
from schemas.task import TaskStatus
from tests.api.conftest import serving
from tests.people import SignedUp, person
from tests.supervisors.conftest import (  # noqa: F401 - fixtures
    CHROMIUM_ARGS,
    PAGE_MS,
    SCREENSHOTS,
    chromium,
    raw_code,
    shows_no_code,
)
from tests.waiting import HTTP_TIMEOUT, eventually
from workers.worker import build_worker
from workflows.case import CaseWorkflow

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
COMPOUND = "HP-DF-QH-1"  # council: PM-LVYUAN, OC-HP-DF-QH-1, HP-DF-QH; street HP-DF; district centre HP-CENTRE


@dataclass
class Stack:
    url: str
    client: object
    pool: object
    task_queue: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(time_env, pool, database_url) -> AsyncIterator[Stack]:
    task_queue = f"whistle-workbench-{uuid.uuid4()}"
    settings = Settings(
        temporal_address=time_env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=task_queue,
    )
    async with build_worker(time_env.client, pool, task_queue), serving(settings) as url:
        yield Stack(url=url, client=time_env.client, pool=pool, task_queue=task_queue)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def staff(database_url) -> dict[str, SignedUp]:
    """The people of the scenario, each of their own organisation."""
    who = {
        "property": ("PM-LVYUAN", Role.COUNCIL, "张物业"),
        "owners": ("OC-HP-DF-QH-1", Role.COUNCIL, "李业委"),
        "street": ("HP-DF", Role.STREET, "王街道"),
        "cgzf": ("CGZF", Role.DEPARTMENT, "赵城管"),
        "gh": ("GH", Role.DEPARTMENT, "钱规划"),
        "xf": ("XF", Role.DEPARTMENT, "孙消防"),
        "other": ("PM-JINDI", Role.COUNCIL, "周物业"),  # a company of another compound
    }
    return {key: await person(database_url, org, role, name) for key, (org, role, name) in who.items()}


@asynccontextmanager
async def browser(chromium_path: Path) -> AsyncIterator:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def signed_in(launched, stack: Stack, who: SignedUp, viewport=DESK):
    """A page of a browser context of its own, signed in through the sign-in form, on the inbox."""
    context = await launched.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=viewport)
    page = await context.new_page()
    page.set_default_timeout(PAGE_MS)
    await page.goto(f"{stack.url}/work/")
    assert "/signin" in page.url
    await page.fill("input[name=account]", who.account)
    await page.fill("input[name=password]", who.password)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/work/")
    return page


async def picture(page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=Path(SCREENSHOTS) / f"workbench-{name}.png", full_page=True)


async def shown_after_reload(page, selector: str, text: str | None = None) -> str:
    """Reload until `selector` is on the page (holding `text`): the read model and a case's view of its tasks
    follow an action by a moment."""

    async def probe() -> str | None:
        await page.reload()
        found = page.locator(selector)
        if await found.count() == 0:
            return None
        content = await found.first.inner_text()
        return content if text is None or text in content else None

    return await eventually(probe, lambda shown: shown is not None, what=f"{selector} with {text!r} on {page.url}")


async def forms(page) -> set[str]:
    """The actions the page offers (its forms' ids)."""
    ids = await page.locator("form.action").evaluate_all("forms => forms.map(f => f.id)")
    return {form_id.removeprefix("form-") for form_id in ids}


async def act(
    page, kind: str, fields: dict[str, str] | None = None, button: str | None = None, refused: bool = False
) -> None:
    """Fill the action's form and submit it; the page after says it was done (or, `refused`, why not)."""
    form = page.locator(f"#form-{kind}")
    for name, value in (fields or {}).items():
        field = form.locator(f"[name={name}]")
        if await field.evaluate("f => f.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    async with page.expect_navigation() as navigated:
        await form.locator(f"button{button or ''}").first.click()
    answer = await navigated.value
    if refused:
        assert answer.status >= 400 and await page.locator("#error").count() == 1
    else:
        assert answer.ok and await page.locator("#notice").count() == 1, (
            f"{kind}: {answer.status} {await page.text_content('body')}"
        )


async def assisted_by(page, kind: str, departments: list[str]) -> None:
    """Tick exactly these assisting departments in the form (the category's routing is ticked at first)."""
    for box in await page.locator(f"#form-{kind} input[name=assist]:checked").all():
        await box.uncheck()
    for code in departments:
        await page.check(f"#form-{kind} input[name=assist][value={code}]")


async def no_horizontal_scroll(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a {PHONE['width']} px phone"


async def view_of(stack: Stack, case_id: str) -> CaseView:
    return await cases.case_handle(stack.client, case_id).query(CaseWorkflow.view)


async def report(stack: Stack, category: str, description: str) -> tuple[str, str]:
    reported = await cases.report_case(
        stack.client,
        stack.pool,
        CaseReport(compound=COMPOUND, category=category, description=description, severity=Severity.ORDINARY),
        task_queue=stack.task_queue,
    )
    await cases.wait_until_open(stack.client, reported.case_id)
    return reported.case_id, reported.token


def evidence_photo(folder: Path) -> Path:
    """A photo larger than a form's body may be (1 MB) but not than a photo may be: noise, which PNG cannot shrink."""
    path = folder / "evidence.png"
    image = Image.frombytes("RGB", (800, 700), os.urandom(800 * 700 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size > 1024 * 1024
    return path


async def test_people_work_two_cases_through_the_workbench(stack, staff, time_env, chromium, raw_code, tmp_path):  # noqa: F811
    council_case, token = await report(stack, "CORRIDOR_CLUTTER", "楼道里堆满了纸箱")
    async with browser(chromium) as launched:
        company = await signed_in(launched, stack, staff["property"])
        owners = await signed_in(launched, stack, staff["owners"])
        street = await signed_in(launched, stack, staff["street"])
        assert await street.locator("[data-case]").count() == 0  # nothing waits on the street yet

        # the company's inbox: the case, waiting to be accepted, with its time left
        item = await shown_after_reload(company, f"[data-case='{council_case}']")
        assert "待接单" in item and "还剩" in item and "楼道里堆满了纸箱" in item
        assert await company.text_content("#badge") == "1"
        assert "张物业" in await company.text_content("#whoami")
        await shows_no_code(company, raw_code)
        await picture(company, "inbox")
        await company.click(f"[data-case='{council_case}'] a")
        await company.wait_for_url(f"**/work/cases/{council_case}")
        assert await forms(company) == {"ACCEPT", "ARRIVE", "NOTE", "WHISTLE", "REQUEST_EXTENSION", "REQUEST_PAUSE"}
        # the owners' committee opens the same case; the street sees it, but may only add a note
        await owners.goto(f"{stack.url}/work/cases/{council_case}")
        assert "ACCEPT" in await forms(owners)
        await street.goto(f"{stack.url}/work/cases/{council_case}")
        assert await forms(street) == {"NOTE"}

        await act(company, "ACCEPT")
        assert "已完成：接单（报到）" in await company.text_content("#notice")
        # the owners' page is stale: accepting again is refused, with the rule's words, on the page
        await act(owners, "ACCEPT", refused=True)
        assert "已由" in await owners.text_content("#error") and "绿苑物业" in await owners.text_content("#error")
        assert "ACCEPT" not in await forms(owners)
        await act(company, "ARRIVE", {"note": "已到现场"})
        await act(company, "RESOLVE", {"summary": "纸箱已清理"})
        await owners.goto(f"{stack.url}/work/cases/{council_case}")
        assert "SIGNOFF" in await forms(owners)
        assert "纸箱已清理" in await owners.text_content("#form-SIGNOFF")
        await shows_no_code(owners, raw_code)
        await picture(owners, "signoff")
        await act(owners, "SIGNOFF", {"comment": "确认已清理"}, button="[value=true]")
        assert (await view_of(stack, council_case)).status is Status.RESOLVED

        # the resident, through the API, is not satisfied: the case reopens and waits on the council again
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=stack.url) as api:
            answer = await api.post(
                f"/v1/cases/{council_case}/feedback",
                json={"satisfied": False, "score": 2, "comment": "还有杂物"},
                headers={"X-Case-Token": token},
            )
        assert answer.status_code == 200, answer.text
        assert (await view_of(stack, council_case)).status is Status.REOPENED
        await company.goto(f"{stack.url}/work/")
        assert "待接单" in await shown_after_reload(company, f"[data-case='{council_case}']", "待接单")
        await company.goto(f"{stack.url}/work/cases/{council_case}")
        timeline = await company.text_content("#timeline")
        assert "张物业" in timeline and "李业委" in timeline

        # a form submitted twice applies once (its key is the update id)
        page = await company.content()
        form_key = re.search(r'name="form_key" value="([0-9a-f]{32})"', page).group(1)
        async with httpx.AsyncClient(
            timeout=HTTP_TIMEOUT, base_url=stack.url, cookies=staff["property"].cookies
        ) as web:
            for _ in range(2):
                posted = await web.post(
                    f"/work/cases/{council_case}", data={"action": "NOTE", "text": "再去看一次", "form_key": form_key}
                )
                assert posted.status_code == 303
        notes = [e for e in (await view_of(stack, council_case)).timeline if e.details.get("text") == "再去看一次"]
        assert len(notes) == 1

        # a person of another compound's company may not open the case
        other = await signed_in(launched, stack, staff["other"])
        refused = await other.goto(f"{stack.url}/work/cases/{council_case}")
        assert refused.status == 403 and "既不是" in await other.text_content("#refused")
        assert await other.locator("[data-case]").count() == 0
        await picture(other, "refused")

        # the company's inbox, left open, shows a new case by itself (it polls /work/count)
        watching = await signed_in(launched, stack, staff["property"])
        await watching.clock.install()
        await watching.goto(f"{stack.url}/work/")
        shown = await watching.locator("[data-case]").count()
        climbing, _token = await report(stack, "PARKING", "消防通道被车辆长期占用")

        async def polled() -> int:
            async with watching.expect_response("**/work/count"):
                await watching.clock.fast_forward(POLL_SECONDS * 1000)
            return await watching.locator(f"[data-case='{climbing}']").count()

        await eventually(polled, what="the inbox to show the new case by itself")
        assert await watching.locator("[data-case]").count() == shown + 1
        assert await watching.text_content("#badge") == str(shown + 1)

        # the second case climbs on its deadlines to the street
        await time_env.sleep(timedelta(minutes=31))
        await eventually(lambda: view_of(stack, climbing), lambda v: v.level is Level.COMMUNITY, what="COMMUNITY")
        await time_env.sleep(timedelta(hours=4, minutes=1))
        await eventually(lambda: view_of(stack, climbing), lambda v: v.level is Level.STREET, what="STREET")
        await street.goto(f"{stack.url}/work/")
        await shown_after_reload(street, f"[data-case='{climbing}']", "待接单")
        await street.goto(f"{stack.url}/work/cases/{climbing}")
        assert "WHISTLE" in await forms(street)
        assert await street.locator("#form-WHISTLE select[name=lead]").input_value() == "JT"  # the routing
        await assisted_by(street, "WHISTLE", ["GH"])
        await act(street, "WHISTLE", {"lead": "CGZF", "reason": "需要城管和规划联合执法"})
        view = await view_of(stack, climbing)
        assert view.level is Level.DISTRICT and {t.department for t in view.tasks} == {"CGZF", "GH"}

        # the departments: one reports for duty and completes with evidence, the other returns
        cgzf = await signed_in(launched, stack, staff["cgzf"])
        item = await shown_after_reload(cgzf, f"[data-case='{climbing}']", "待报到")
        await cgzf.goto(f"{stack.url}/work/tasks/{climbing}")
        assert await forms(cgzf) == {"ACCEPT", "NOTE", "RETURN", "REQUEST_PAUSE"}
        await act(cgzf, "ACCEPT")
        assert "COMPLETE" in await forms(cgzf)
        await cgzf.set_input_files("#form-COMPLETE input[name=photo]", evidence_photo(tmp_path))
        await act(cgzf, "COMPLETE", {"result": "车辆已拖离，通道畅通"})
        await shows_no_code(cgzf, raw_code)
        await picture(cgzf, "task")
        gh = await signed_in(launched, stack, staff["gh"])
        await gh.goto(f"{stack.url}/work/tasks/{climbing}")
        await act(gh, "RETURN", {"reason": "不属于规划职责"})

        # the street reroutes the returned part to the fire brigade, which completes: the case resolves
        await street.goto(f"{stack.url}/work/")
        await shown_after_reload(street, f"[data-case='{climbing}']", "待改派")
        await street.goto(f"{stack.url}/work/cases/{climbing}")
        await shown_after_reload(street, "#form-REROUTE")
        await assisted_by(street, "REROUTE", [])
        await act(street, "REROUTE", {"lead": "XF", "reason": "改由消防负责"})
        xf = await signed_in(launched, stack, staff["xf"])
        await shown_after_reload(xf, f"[data-case='{climbing}']", "待报到")
        await xf.goto(f"{stack.url}/work/tasks/{climbing}")
        await act(xf, "ACCEPT")
        await act(xf, "COMPLETE", {"result": "消防通道已设隔离桩"})
        view = await eventually(
            lambda: view_of(stack, climbing), lambda v: v.status is Status.RESOLVED, what="the case resolved"
        )
        assert {t.department: t.status for t in view.tasks} == {
            "CGZF": TaskStatus.COMPLETED,
            "GH": TaskStatus.RETURNED,
            "XF": TaskStatus.COMPLETED,
        }
        assert len(next(t for t in view.tasks if t.department == "CGZF").evidence_urls) == 1
        await street.goto(f"{stack.url}/work/cases/{climbing}")
        timeline = await street.text_content("#timeline")
        for name in ("王街道", "赵城管", "钱规划", "孙消防"):
            assert name in timeline, f"{name} missing from the timeline: {timeline}"
        assert await street.locator("#photos img").count() == 1
        await shows_no_code(street, raw_code)
        await picture(street, "case")

        # on a phone: every page fits the screen
        phone = await signed_in(launched, stack, staff["property"], viewport=PHONE)
        await no_horizontal_scroll(phone)
        await picture(phone, "phone-inbox")
        await phone.goto(f"{stack.url}/work/cases/{council_case}")
        await no_horizontal_scroll(phone)
        await picture(phone, "phone-case")
        phone_dept = await signed_in(launched, stack, staff["cgzf"], viewport=PHONE)
        await phone_dept.goto(f"{stack.url}/work/tasks/{climbing}")
        await no_horizontal_scroll(phone_dept)


async def test_the_count_answers_for_the_signed_in_person_only(stack, staff):
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=stack.url, cookies=staff["gh"].cookies) as web:
        count = await web.get("/work/count")
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=stack.url) as anonymous:
        away = await anonymous.get("/work/count")
    assert count.status_code == 200 and set(count.json()) == {"count", "stamp"}
    assert away.status_code == 303 and "/signin" in away.headers["location"]


def test_pages_offer_only_actions_whose_right_the_role_holds():
    """The role's rights (the JSON API's table) narrow what the workflow allows: a community committee member
    signed in with the council role may act on the council, but not dispatch volunteers."""
    allowed = [ActionKind.ACCEPT, ActionKind.SIGNOFF, ActionKind.DISPATCH]
    council = Principal(org="HP-DF-QH", role=Role.COUNCIL)
    community = Principal(org="HP-DF-QH", role=Role.COMMUNITY)
    assert permitted(council, allowed, CASE_RIGHTS) == [ActionKind.ACCEPT, ActionKind.SIGNOFF]
    assert permitted(community, allowed, CASE_RIGHTS) == allowed
    department = Principal(org="XF", role=Role.DEPARTMENT)
    assert permitted(department, [ActionKind.COMPLETE, ActionKind.DECIDE_EXTENSION], TASK_RIGHTS) == [
        ActionKind.COMPLETE
    ]
