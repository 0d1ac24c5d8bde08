"""The supervisors' lists over the scripted scenario: the cases behind every overview figure, who is late on the
deadlines page, the returns awaiting the street, and every page on a phone's 390 px."""

import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from schemas.case import Actor, DepartmentSummons, EventKind, Reroute
from schemas.task import TaskActor, TaskExtension, task_workflow_id
from tests.supervisors.conftest import beijing_browser, picture, shows_no_code, sign_in, signed_in_http
from tests.waiting import eventually
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow

PHONE = {"width": 390, "height": 844}
LINK = re.compile(r'<a href="([^"]+)" class="figure-link" data-figure="([^"]+)" data-count="(\d+)">')


def listed(page: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-case="([^"]+)"', page)


def total(page: str) -> int:
    return int(re.search(r'id="paging" data-total="(\d+)"', page).group(1))


async def test_every_linked_figure_lists_exactly_the_cases_it_counts(served, scripted):
    async with signed_in_http(served) as http:
        for place in ({}, {"street": "HP-DF"}, {"street": "HP-XH"}):
            overview = (await http.get("/dashboard/", params={"since": "2020-01-01"} | place)).text
            links = {figure: (href.replace("&amp;", "&"), int(n)) for href, figure, n in LINK.findall(overview)}
            expected = {
                "reported",
                "response",
                "resolution",
                "satisfaction",
                "open",
                "overdue",
                "first_time",
                "supervised",
            }
            assert expected <= set(links) and len(links) == len(expected) + 8, sorted(links)
            for figure, (href, count) in links.items():
                page = await http.get(href)
                assert page.status_code == 200, (figure, page.text)
                assert total(page.text) == len(listed(page.text)) == count, (place, figure, href)
            if not place:
                assert {figure: n for figure, (_, n) in links.items() if figure in expected} == {
                    "reported": 4,
                    "response": 2,  # the sewer and the clutter accepted before a deadline passed
                    "resolution": 2,  # the sewer at the council, the clutter at the community
                    "satisfaction": 2,
                    "open": 1,
                    "overdue": links["overdue"][1],  # the skipped clock is days ahead of now(): see below
                    "first_time": 1,
                    "supervised": links["supervised"][1],
                }
                assert links["supervised"][1] >= 1
                overdue = urlsplit(links["overdue"][0])
                at_the_end = [(k, v) for k, v in parse_qsl(overdue.query) if k != "due_before"]
                at_the_end.append(("due_before", scripted.as_of.isoformat()))
                late = (await http.get(overdue.path, params=at_the_end)).text
                assert listed(late) == [scripted.fumes]  # late at the scenario's end


async def test_the_deadlines_page_names_who_is_late_and_filters_by_them(served, scripted):
    async with signed_in_http(served) as http:
        page = (await http.get("/dashboard/overdue")).text
        row = page.split(f'data-case="{scripted.fumes}"')[1].split("</tr>")[0]
        late = re.search(r'class="late-party"[^>]*>([^<]*)</td>', row).group(1)
        assert late == "区城管执法局"  # the department whose work is overdue at DISTRICT, not the district centre
        assert '<option value="CGZF" >区城管执法局</option>' in page  # the filter offers who is late now

        by_department = (await http.get("/dashboard/overdue", params={"late": "CGZF"})).text
        returned = (await http.get("/dashboard/overdue", params={"late": "HB"})).text  # HB returned: not late
        centre = (await http.get("/dashboard/overdue", params={"late": "HP-CENTRE"})).text
        at_council = (await http.get("/dashboard/overdue", params={"level": "COUNCIL", "street": ""})).text
        by_category = (await http.get("/dashboard/overdue", params={"category": "COOKING_FUMES"})).text
        assert listed(by_department) == listed(by_category) == [scripted.fumes]
        assert listed(returned) == listed(centre) == listed(at_council) == []
        assert total(at_council) == 0 and "没有在办案件。" in at_council

        refused = await http.get("/dashboard/overdue", params={"level": "MOON"})
        assert refused.status_code == 422 and "level" in refused.text


async def test_a_case_list_pages_past_its_page_size_and_downloads_the_same_cases(served, scripted):
    everything = {scripted.sewer, scripted.clutter, scripted.noise, scripted.fumes}
    async with signed_in_http(served) as http:
        first = (await http.get("/dashboard/cases", params={"limit": 3, "sort": "oldest"})).text
        assert total(first) == 4 and len(listed(first)) == 3 and "第 1 页，共 2 页" in first
        following = re.search(r'<a href="([^"]+)" id="next-page"', first).group(1).replace("&amp;", "&")
        second = (await http.get(f"/dashboard/cases{following}")).text
        assert len(listed(second)) == 1 and "第 2 页，共 2 页" in second and 'id="next-page"' not in second
        assert set(listed(first) + listed(second)) == everything
        download = re.search(r'href="(/dashboard/export/cases\?[^"]+)" id="download-csv"', second).group(1)
        exported = (await http.get(download.replace("&amp;", "&"))).content.decode("utf-8-sig")
    assert all(case_id in exported for case_id in everything) and "after" not in download


async def test_every_supervisor_page_fits_a_phone_and_names_what_it_shows(served, scripted, chromium, raw_code):
    pages = {
        "overview": "/dashboard/",
        "deadlines": "/dashboard/overdue",
        "cases": "/dashboard/cases?street=HP-XH",
        "returns": "/dashboard/returns",
        "case": f"/dashboard/cases/{scripted.fumes}",
        "rankings": "/dashboard/rankings",
    }
    async with beijing_browser(chromium, PHONE) as page:
        await sign_in(page, served)
        for name, address in pages.items():
            await page.goto(f"{served.url}{address}")
            width = await page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= PHONE["width"], f"{address} is {width} px wide on a phone"
            await shows_no_code(page, raw_code)
            await picture(page, f"phone-{name}")


async def test_returns_wait_for_the_street_with_reason_and_who_returned_until_it_reroutes(served, scripted, time_env):
    async with signed_in_http(served) as http:
        page = (await http.get("/dashboard/returns")).text
        other_street = (await http.get("/dashboard/returns", params={"street": "HP-DF"})).text
        assert "data-case=" not in other_street and "没有待街道处理的退单。" in other_street
        row = page.split(f'data-case="{scripted.fumes}"')[1].split("</tr>")[0]
        assert re.search(r'class="returned-by"[^>]*>区生态环境局</td>', row) and "not ecology" in row
        assert page.count("data-case=") == 1  # only the fumes case waits for its street

        rerouted = Reroute(actor=Actor(org="HP-XH"), departments=DepartmentSummons(lead="ZJW"), reason="housing")
        await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").execute_update(
            CaseWorkflow.reroute, rerouted
        )
        after = await eventually(
            lambda: http.get("/dashboard/returns"), lambda answer: "data-case=" not in answer.text, what="rerouted"
        )
    assert "没有待街道处理的退单。" in after.text


async def test_a_department_extension_decided_twice_from_one_form_is_decided_once(served, scripted, time_env):
    task = time_env.client.get_workflow_handle_for(DepartmentTaskWorkflow.run, task_workflow_id(scripted.fumes, "CGZF"))
    work_due = (await task.query(DepartmentTaskWorkflow.view)).work_due
    asked = TaskExtension(actor=TaskActor(department="CGZF"), until=work_due + timedelta(days=2), reason="a permit")
    await task.execute_update(DepartmentTaskWorkflow.request_extension, asked)
    async with signed_in_http(served) as http:

        async def case_page() -> str:
            return (await http.get(f"/dashboard/cases/{scripted.fumes}")).text

        # the request reaches the case by a signal
        page = await eventually(case_page, lambda text: 'id="task-extension-CGZF"' in text, what="the request")
        form_key = re.search(r'name="form_key" value="([0-9a-f]{32})"', page).group(1)
        form = {"form_key": form_key, "approve": "false", "reason": "no permit is needed"}
        for _ in range(2):  # a double click: the same form twice
            sent = await http.post(f"/dashboard/cases/{scripted.fumes}/tasks/CGZF/extension", data=form)
            assert sent.status_code == 303, sent.text
    view = await task.query(DepartmentTaskWorkflow.view)
    assert view.extension is None and view.work_due == work_due  # denied once: the deadline stands
    case = await time_env.client.get_workflow_handle(f"case-{scripted.fumes}").query(CaseWorkflow.view)
    assert [e.kind for e in case.timeline if e.kind.startswith("TASK_EXTENSION")] == [
        EventKind.TASK_EXTENSION_REQUESTED,
        EventKind.TASK_EXTENSION_DENIED,
    ]
