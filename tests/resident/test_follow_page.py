"""Following a case through the private link: progress in plain words as handlers act, the verdict once it is
resolved (unsatisfied reopens), withdrawal before; a follower only looks; a wrong or missing token shows nothing."""

import httpx

from api.resident_pages import COOKIE
from tests.resident.browser import fits_the_screen, phone, photograph
from tests.resident.conftest import NAME, PHONE
from tests.resident.photos import phone_photo
from tests.waiting import HTTP_TIMEOUT, eventually


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def reported(site, compound: str, category: str, description: str, **fields) -> tuple[str, str]:
    """A resident's report through the JSON API: (case id, access token)."""
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url) as http:
        answer = await http.post(
            "/v1/cases", json={"compound": compound, "category": category, "description": description, **fields}
        )
    assert answer.status_code == 201, answer.text
    return answer.json()["case_id"], answer.json()["token"]


async def act(site, key: str, case_id: str, action: str, body: dict | None = None) -> dict:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url) as http:
        answer = await http.post(
            f"/v1/handler/cases/{case_id}/{action}", json=body or {}, headers=bearer(site.keys[key])
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def shows(page, selector: str, text: str) -> str:
    """Reload until `selector` holds `text` (what handlers did reaches the page on its next load)."""

    async def loaded() -> str:
        await page.reload()
        return await page.locator(selector).text_content()

    return await eventually(loaded, lambda shown: text in shown, what=f"{selector} to show {text!r}")


async def test_the_private_link_shows_progress_then_the_verdict_reopens(site, browser):
    case_id, token = await reported(
        site, "HP-DF-QH-1", "DOWNPIPE", "3号楼的落水管断了，雨水顺着墙往下流", reporter={"name": NAME, "phone": PHONE}
    )
    async with phone(browser) as page:
        await page.goto(f"{site.url}/resident/cases/{case_id}#t={token}")
        await page.locator("#status", has_text="已上报").wait_for()
        assert page.url == f"{site.url}/resident/cases/{case_id}"  # the token left the address bar
        holder = await page.text_content("#holder")
        assert holder.startswith("现由绿苑物业（小区三方）处理，须在") and "月" in holder
        assert "还剩" in await page.text_content("#left")
        assert "经居民端上报：落水管道（一般）" in await page.text_content("#timeline")
        assert await page.locator("#verdict").count() == 0 and await page.locator("#withdraw").count() == 1
        assert await fits_the_screen(page)
        await photograph(page, "4-follow")

        await act(site, "property", case_id, "accept", {"person": "李师傅"})
        async with httpx.AsyncClient(
            timeout=HTTP_TIMEOUT, base_url=site.url
        ) as http:  # the handler's photo of the work, with a note
            uploaded = await http.post(
                "/v1/photos",
                files=[("photo", ("fixed.jpg", phone_photo((20, 120, 20)), "image/jpeg"))],
                data={"case": case_id},
                headers=bearer(site.keys["property"]),
            )
        assert uploaded.status_code == 201, uploaded.text
        await act(
            site, "property", case_id, "notes", {"text": f"已换新管卡，见照片 {uploaded.json()['photos'][0]['url']}"}
        )
        await shows(page, "#status", "处理中")
        assert "绿苑物业（李师傅）" in await page.text_content("#timeline")
        assert await page.locator("#photos img").count() == 1
        await act(site, "property", case_id, "resolve", {"summary": "落水管已重新固定"})
        await act(site, "owners", case_id, "signoff", {"agree": True})
        await shows(page, "#status", "已解决待评价")
        assert "请在" in await page.text_content("#holder") and await page.locator("#withdraw").count() == 0
        await page.check("#verdict input[name=satisfied][value=false]")
        await page.click("label[for=score-2]")
        await page.fill("#verdict textarea[name=comment]", "一下雨还是漏")
        await photograph(page, "5-verdict")
        await page.click("#verdict button[type=submit]")
        await page.locator("[role=status]", has_text="谢谢，你的评价已记录。").wait_for()
        assert await page.text_content("#status") == "重新办理"
        assert "一下雨还是漏" in await page.text_content("#timeline")
        await photograph(page, "6-reopened")

    case = await act(site, "property", case_id, "accept")
    assert (case["status"], case["unsatisfied_count"], case["reopen_count"]) == ("IN_PROGRESS", 1, 1)


async def test_withdraw_before_resolution(site, browser):
    case_id, token = await reported(site, "HP-XH-MY-1", "CORRIDOR_CLUTTER", "楼道里堆了旧家具")
    async with phone(browser) as page:
        await page.goto(f"{site.url}/resident/cases/{case_id}#t={token}")
        await page.locator("#status", has_text="已上报").wait_for()
        await page.click("#withdraw summary")
        await page.fill("#withdraw input[name=reason]", "邻居已经搬走了")
        await page.click("#withdraw button[type=submit]")
        await page.locator("[role=status]", has_text="你已撤回案件。").wait_for()
        assert await page.text_content("#status") == "已办结"
        assert await page.text_content("#holder") == "已结案：居民撤回。"
        assert await page.locator("#withdraw").count() == 0 and await page.locator("#verdict").count() == 0


async def test_a_wrong_or_missing_token_shows_nothing_of_the_case(site, browser, log_lines):
    description = "地下车库漏水，车位B-17被淹"
    case_id, token = await reported(site, "HP-XH-MY-2", "HOUSE_LEAK", description, reporter={"phone": PHONE})
    for wrong in ("x" * 32, token[:-1]):
        async with phone(browser) as page:
            await page.goto(f"{site.url}/resident/cases/{case_id}#t={wrong}")
            await page.locator("#opening-status", has_text="这个链接打不开案件").wait_for()
            shown = await page.text_content("body")
            assert description not in shown and "房屋渗水" not in shown and "已上报" not in shown
    async with phone(browser) as page:
        await page.goto(f"{site.url}/resident/cases/{case_id}")  # no token: how to open it, nothing more
        await page.locator("#opening-status", has_text="请用反映问题时得到的私人链接打开本页。").wait_for()
        assert description not in await page.text_content("body")
        await page.goto(f"{site.url}/resident/cases/{case_id}#t={token}")  # the link pasted into the same tab
        await page.locator("#status", has_text="已上报").wait_for()
        assert description in await page.text_content("body")

    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url, cookies={COOKIE: "y" * 32}) as http:
        page = await http.get(f"/resident/cases/{case_id}")
        assert page.status_code == 200 and description not in page.text
        assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
        assert (await http.post(f"/resident/cases/{case_id}/session", json={"token": "y" * 32})).status_code == 403
        refused = await http.post(f"/resident/cases/{case_id}/withdraw", data={"reason": "not mine"})
        assert refused.status_code == 403 and description not in refused.text
        unknown = await http.post("/resident/cases/WH-20200101-000001/session", json={"token": token})
        assert unknown.status_code == 403  # no case, or not yours: the same answer
        # what another site's page can send without asking first (a "simple" request) opens nothing
        simple = await http.post(
            f"/resident/cases/{case_id}/session",
            content=f'{{"token": "{token}"}}',
            headers={"Content-Type": "text/plain"},
        )
        assert simple.status_code == 422 and "set-cookie" not in simple.headers
        opened = await http.post(f"/resident/cases/{case_id}/session", json={"token": token})
        assert opened.status_code == 204
        cookie = opened.headers["set-cookie"]
        assert f"Path=/resident/cases/{case_id}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert not [line for line in log_lines if token in line], "the access token reached a log line"


async def test_a_follower_sees_the_case_but_cannot_withdraw_or_judge(site, browser):
    case_id, token = await reported(site, "HP-DF-QH-2", "FLYING_WIRE", "5楼有人从窗户拉电线给电动车充电")
    async with phone(browser) as page:  # the neighbour reports the same issue on the page
        await page.goto(f"{site.url}/resident/")
        await page.click("label.category:has-text('飞线充电')")
        await page.select_option("#compound", "HP-DF-QH-2")
        await page.fill("#description", "楼下飞线充电很危险")
        await page.set_input_files("#photos", [{"name": "wire.jpg", "mimeType": "image/jpeg", "buffer": phone_photo()}])
        await page.fill("#phone", "13900001111")
        await page.click("button.primary[type=submit]")
        await page.locator("h1", has_text="这个问题已经有人反映了").wait_for()
        assert await page.text_content("#case-id") == case_id
        await page.click("#follow")
        await page.locator("#follower").wait_for()
        assert await page.locator("#withdraw").count() == 0
        await act(site, "jindi", case_id, "accept")
        await act(site, "jindi", case_id, "resolve", {"summary": "电线已拆除"})
        await act(site, "community", case_id, "signoff", {"agree": True})  # 青华社区 sits on the council too
        await shows(page, "#status", "已解决待评价")
        assert await page.locator("#verdict").count() == 0 and await page.locator("#withdraw").count() == 0
