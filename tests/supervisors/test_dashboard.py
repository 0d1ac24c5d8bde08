"""Supervisors' surfaces over the scripted scenario: the JSON API, `whistle stats` / `whistle rankings`, and
the web dashboard in real headless Chromium (Debian's chromium, driven by Playwright; no browser download)."""

import asyncio
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from activities.db import connect
from activities.statistics import statistics
from api import keys
from i18n.language import CHINESE, ENGLISH
from i18n.zone import deployment_zone
from schemas.case import EventKind
from schemas.keys import Role
from schemas.ranking import Cadence, RankingPeriod
from schemas.statistics import Statistics, StatisticsQuery
from schemas.task import TaskActor, TaskExtension, task_workflow_id
from tests.supervisors.conftest import Served, bearer, beijing_browser, picture, shows_no_code, sign_in, signed_in_http
from tests.supervisors.scenario import rank
from tests.waiting import HTTP_TIMEOUT
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

BEIJING = ZoneInfo("Asia/Shanghai")
WHISTLE = Path(sys.executable).parent / "whistle"


async def test_statistics_api_answers_the_same_figures_as_the_read_model(served, pool, scripted):
    params = {"as_of": scripted.as_of.isoformat()}
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=served.url) as http:
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
    label = RankingPeriod.containing(scripted.started, Cadence.MONTH, deployment_zone()).label
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=served.url) as http:
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
    assert "华夏物业" in printed.stdout and "黑榜" in printed.stdout


def whistle(served: Served, *args: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEMPORAL_", "WHISTLE_", "LC_")) and key != "LANG"  # the CLI speaks Chinese
    }
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
    assert lines["上报案件数"] == "1"
    assert lines["吹哨：主动 / 自动"] == "0 / 3"
    assert lines["各层级按时办结率"] == "0.0% (0/4)"
    unknown = await asyncio.to_thread(whistle, served, "stats", "--street", "NOWHERE")
    assert unknown.returncode == 1 and "unknown jurisdiction 'NOWHERE'" in unknown.stderr


def zone_a_day_off(moments: list[datetime]) -> ZoneInfo:
    """A fixed-offset zone on whose clock all `moments` fall on one day, another than UTC's, an hour or
    more from local midnight: a day counted in UTC instead of locally would miss them or take them in."""
    for hours in (14, -12):  # Etc/GMT-14 is UTC+14 (POSIX signs)
        zone = ZoneInfo(f"Etc/GMT{-hours:+d}")
        local_days = {moment.astimezone(zone).date() for moment in moments}
        if len(local_days) == 1 and all(
            moment.astimezone(zone).date() != moment.astimezone(UTC).date() and 1 <= moment.astimezone(zone).hour < 23
            for moment in moments
        ):
            return zone
    raise AssertionError(f"no zone puts {moments} on another day than UTC")


async def test_the_overview_counts_from_the_start_of_a_local_day(served, monkeypatch):
    """The overview's date picker picks a day on the deployment's clock (00:00 local, not 00:00 UTC), and
    shows the last 30 local days unless another day is picked."""
    async with httpx.AsyncClient(
        timeout=HTTP_TIMEOUT, base_url=served.url, headers=bearer(served.supervisor_key)
    ) as api:
        reports = [
            datetime.fromisoformat(c["reported_at"]) for c in (await api.get("/v1/supervisor/cases")).json()["items"]
        ]
    assert len(reports) == 4
    async with signed_in_http(served) as http:

        async def reported_since(day: date) -> int:
            page = (await http.get("/dashboard/", params={"since": day.isoformat()})).text
            return int(re.search(r'id="reported"><a [^>]*>(\d+)<', page).group(1))

        zone = zone_a_day_off(reports)
        monkeypatch.setenv("WHISTLE_TIMEZONE", zone.key)
        day = reports[0].astimezone(zone).date()  # the local day of the four reports
        assert (await reported_since(day), await reported_since(day + timedelta(days=1))) == (4, 0)

        zone = zone_a_day_off([datetime.now(UTC)])
        monkeypatch.setenv("WHISTLE_TIMEZONE", zone.key)
        page = (await http.get("/dashboard/")).text
    assert f'name="since" value="{datetime.now(zone).date() - timedelta(days=30)}"' in page


def beijing(moment: datetime, language: str = CHINESE) -> str:
    """How the dashboard writes a moment in a table: 11月28日 14:35 / Nov 28, 14:35, on Beijing's clock."""
    local = moment.astimezone(BEIJING)
    if language == CHINESE:
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local:%b} {local.day}, {local:%H:%M}"


async def test_supervisor_signs_in_sees_an_overdue_case_in_chinese_and_beijing_time_and_supervises_it(
    served, scripted, time_env, chromium, raw_code
):
    view = await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").query(CaseWorkflow.view)
    async with beijing_browser(chromium) as page:
        await page.clock.install()  # the deadlines page refreshes itself every minute: fast-forwarded below
        await page.goto(f"{served.url}/dashboard/")
        assert page.url.endswith("/signin?next=/dashboard/")
        assert await page.get_attribute("html", "lang") == "zh-CN"
        assert await page.text_content("h1") == "登录"
        await page.fill("input[name=account]", served.supervisor.account)
        await page.fill("input[name=password]", "not the password")
        await page.click("button[type=submit]")
        assert await page.text_content("[role=alert]") == "账号或密码错误"
        await page.fill("input[name=password]", served.supervisor.password)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/dashboard/")
        assert await page.text_content("#reported") == "4"
        overview = await shows_no_code(page, raw_code)
        assert await page.text_content("#whoami") == "王督办 · 和平区吹哨报到指挥中心"
        labels = ("总览", "上报", "当前超时", "矛盾不出小区率", "各层级案件", "红黑榜")
        assert all(label in overview for label in labels)
        assert "华夏物业" in await page.text_content("#organisations")  # the noise case's company
        assert "区生态环境局" in await page.text_content("#departments")
        assert "截至 " in overview and " 北京时间" in await page.text_content("#as-of")
        await picture(page, "overview")

        await page.click("text=时限与超时案件")
        row = page.locator("#deadlines tr.late", has_text=scripted.fumes)
        assert await row.locator(".deadline").text_content() == beijing(view.deadline)
        assert "超时" in await row.locator(".countdown").text_content()
        assert "和平区吹哨报到指挥中心" in await row.text_content() and "油烟扰民" in await row.text_content()
        assert "办理时限（北京时间）" in await page.text_content("#deadlines tr:first-child")
        await shows_no_code(page, raw_code)
        await picture(page, "deadlines")
        # a minute later the server renders the table again, still in Chinese
        await page.evaluate("document.getElementById('deadlines').dataset.shown = 'before'")
        async with page.expect_response(lambda answer: answer.request.resource_type == "fetch") as refreshed:
            await page.clock.fast_forward(61_000)
        assert (await refreshed.value).ok
        await page.wait_for_selector("#deadlines:not([data-shown])", state="attached")
        assert await row.locator(".deadline").text_content() == beijing(view.deadline)

        await row.locator("a").click()
        await page.wait_for_url(f"**/dashboard/cases/{scripted.fumes}")
        status = await page.text_content("#case-status")
        assert "处理中" in status and "超时" in status
        deadline = f"{view.deadline.astimezone(BEIJING):%Y-%m-%d %H:%M}"
        assert await page.text_content("#case-deadline") == f"{deadline} 北京时间"
        assert "区 / 和平区吹哨报到指挥中心" == await page.text_content("#case-owner")
        assert "金地物业" in await page.text_content("#stages")  # the compound's company owned the council stage
        assert "区城管执法局" in await page.text_content("#tasks") and "主办" in await page.text_content("#tasks")
        timeline = await page.text_content("#timeline")
        assert "召集区城管执法局（主办）" in timeline and "经居民端上报：油烟扰民（一般）" in timeline
        await shows_no_code(page, raw_code)

        await page.fill("#supervise input[name=reason]", "餐馆油烟扰民已一周，请今日处理")
        await page.click("#supervise button")
        assert await page.text_content("[role=status]") == "已督办。"
        newest = await page.text_content("#timeline tr:nth-child(2)")  # newest first, under the heading
        assert "和平区吹哨报到指挥中心（王督办）督办催办：餐馆油烟扰民已一周，请今日处理" in newest  # by name
        await shows_no_code(page, raw_code)
        await picture(page, "case")

        # the same page in English on request, and the next page too (the choice is remembered)
        await page.click("header .languages a[hreflang=en]")
        await page.wait_for_url("**lang=en")
        assert await page.get_attribute("html", "lang") == "en"
        assert "in progress" in await page.text_content("#case-status")
        assert "Urban Management Enforcement (lead)" in await page.text_content("#timeline")
        assert await page.text_content("#case-deadline") == f"{deadline} Beijing time"
        await shows_no_code(page, raw_code)
        await page.click("text=Deadlines and overdue cases")
        await page.wait_for_url("**/dashboard/overdue")
        assert await page.text_content("h1") == "Open cases by deadline"
        assert await row.locator(".deadline").text_content() == beijing(view.deadline, ENGLISH)
        assert "District command centre" in await row.text_content()
        await shows_no_code(page, raw_code)

    view = await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").query(CaseWorkflow.view)
    supervised = [event for event in view.timeline if event.kind is EventKind.SUPERVISED]
    assert [(e.actor, e.details["reason"]) for e in supervised] == [("HP-CENTRE", "餐馆油烟扰民已一周，请今日处理")]

    # the same form sent twice (a double click, a resubmitted page) supervises once
    async with signed_in_http(served) as http:
        page = (await http.get(f"/dashboard/cases/{scripted.fumes}")).text
        form_key = re.search(r'name="form_key" value="([0-9a-f]{32})"', page).group(1)
        form = {"form_key": form_key, "action": "URGE", "reason": "second reminder"}
        for _ in range(2):
            sent = await http.post(f"/dashboard/cases/{scripted.fumes}/supervise", data=form)
            assert sent.status_code == 303
    view = await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").query(CaseWorkflow.view)
    assert [e.details["reason"] for e in view.timeline if e.kind is EventKind.SUPERVISED] == [
        "餐馆油烟扰民已一周，请今日处理",
        "second reminder",
    ]


async def test_the_red_and_black_lists_in_chinese(served, scripted, time_env, chromium, raw_code):
    label = RankingPeriod.containing(scripted.started, Cadence.MONTH, deployment_zone()).label
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=served.url) as http:
        ranked = await http.get(
            "/v1/supervisor/rankings", params={"period": label}, headers=bearer(served.supervisor_key)
        )
    if ranked.status_code == 404:  # run alone, before test_rankings_api_and_cli ranked the month
        await rank(time_env, scripted, label)
    async with beijing_browser(chromium) as page:
        await sign_in(page, served)
        await page.click("text=红黑榜")
        await page.wait_for_url("**/dashboard/rankings")
        assert await page.text_content("h1") == f"红黑榜 {label}"
        computed = await page.text_content("#computed")
        start = RankingPeriod.parse(label, deployment_zone()).start.astimezone(BEIJING)
        assert f"统计 {start:%Y-%m-%d %H:%M} 北京时间 起" in computed
        assert "绿苑物业" in await page.text_content("table.red-list")
        shown = await shows_no_code(page, raw_code)
        assert all(words in shown for words in ("物业公司", "区职能部门", "红榜", "黑榜", "得分"))
        await picture(page, "rankings")


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
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=served.url) as http:
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
    assert other_street.status_code == 403 and "既不是案件" in other_street.json()["detail"]  # a stranger to the case
    printed = await asyncio.to_thread(
        whistle, served, "case", "act", scripted.fumes, "conclude", "--as", "HP-XH", "--reason", "the fumes stopped"
    )
    assert printed.returncode == 1 and "CGZF still working" in printed.stderr


async def test_supervisor_sees_and_approves_a_department_extension_in_beijing_time(
    served, scripted, time_env, chromium
):
    cgzf = TaskActor(department="CGZF")
    task = time_env.client.get_workflow_handle_for(DepartmentTaskWorkflow.run, task_workflow_id(scripted.fumes, "CGZF"))
    work_due = (await task.query(DepartmentTaskWorkflow.view)).work_due
    # asked the way a Beijing clerk types it: 18:00 at +08:00, a few days after the current deadline
    until = (work_due + timedelta(days=3)).astimezone(BEIJING).replace(hour=18, minute=0, second=0, microsecond=0)
    await task.execute_update(
        DepartmentTaskWorkflow.request_extension, TaskExtension(actor=cgzf, until=until, reason="awaiting a permit")
    )
    await case_shows(time_env, scripted.fumes, lambda v: any(t.extension for t in v.tasks))

    async with beijing_browser(chromium) as page:
        await sign_in(page, served)
        await page.goto(f"{served.url}/dashboard/cases/{scripted.fumes}")
        pending = await page.text_content("#task-extension-CGZF")
        assert f"区城管执法局申请延期至 {until:%Y-%m-%d} 18:00 北京时间：awaiting a permit" in pending
        shown = await page.text_content("main")
        assert "UTC" not in shown
        reported = (await case_shows(time_env, scripted.fumes, lambda v: True)).reported_at
        assert f"{reported.astimezone(BEIJING):%Y-%m-%d %H:%M} 北京时间" in shown  # recorded in UTC, shown converted

        await page.fill("#task-extension-CGZF input[name=reason]", "permit office confirmed the date")
        await page.click("#task-extension-CGZF button[value=true]")
        assert await page.text_content("[role=status]") == "已批复区城管执法局的延期申请。"
        assert await page.locator("#task-extension-CGZF").count() == 0  # decided: no longer pending
        assert "无待批的部门延期申请。" in await page.text_content("main")
        work_due_shown = await page.locator("#tasks tr", has_text="区城管执法局").locator(".work-due").text_content()
        assert work_due_shown == beijing(until)

    view = await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").query(CaseWorkflow.view)
    decided = [(e.kind, e.actor) for e in view.timeline if e.kind.startswith("TASK_EXTENSION")]
    assert decided == [
        (EventKind.TASK_EXTENSION_REQUESTED, "CGZF"),
        (EventKind.TASK_EXTENSION_APPROVED, "HP-CENTRE"),
    ]
    assert (await task.query(DepartmentTaskWorkflow.view)).work_due == until
