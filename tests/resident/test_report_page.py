"""The report page on a phone: a category, where (the phone's location, or a compound picked from the list),
what, photos, who; the answer gives the case number, what happens next and the private link."""

import re
import uuid

import httpx

from tests.resident.browser import fits_the_screen, phone, photograph
from tests.resident.conftest import NAME, PHONE
from tests.resident.photos import carries_nothing_but_pixels, phone_photo
from tests.waiting import HTTP_TIMEOUT, eventually

INSIDE_SUNSHINE = (39.1210, 117.2015)  # inside 阳光小区 HP-DF-QH-1 (demo boundaries)
ON_THE_STREET = (39.1212, 117.2036)  # the street between 阳光小区 and 和谐家园: in no compound


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def as_upload(name: str, content: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": content}


async def case_seen_by(site, key: str, case_id: str) -> dict:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url) as http:
        answer = await http.get(f"/v1/handler/cases/{case_id}", headers=bearer(site.keys[key]))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_report_from_inside_a_compound_with_two_photos(site, browser):
    async with phone(browser, where=INSIDE_SUNSHINE) as page:
        await page.goto(f"{site.url}/resident/")
        assert await page.text_content("h1") == "反映小区里的问题"
        await page.click("label.category:has-text('楼道杂物')")
        await page.click("#locate")
        await page.locator("#located", has_text="你在阳光小区。").wait_for()
        assert await page.input_value("#compound") == "HP-DF-QH-1"
        await page.fill("#description", "3号楼二楼楼道堆满了自行车和纸箱")
        await page.set_input_files(
            "#photos",
            [
                as_upload("IMG_0001.jpg", phone_photo((200, 40, 40))),
                as_upload("IMG_0002.jpg", phone_photo((40, 40, 200))),
            ],
        )
        await page.locator("#previews img").nth(1).wait_for()
        await page.fill("#name", NAME)
        await page.fill("#phone", PHONE)
        assert await fits_the_screen(page)
        await photograph(page, "1-report")
        await page.click("button.primary[type=submit]")

        case_id = await page.locator("#case-id").text_content()
        assert await page.text_content("#next") == "物业、业委会、社区三方将在30分钟内处理。"
        link = await page.input_value("#private-link")
        assert link.startswith(f"{site.url}/resident/cases/{case_id}#t=")
        assert await fits_the_screen(page)
        await photograph(page, "2-reported")
        await page.click("#follow")  # the case, with its photos (shown to the reporter only: a cookie of the case)
        await page.locator("#status", has_text="已上报").wait_for()
        thumbnails = page.locator("#photos img")
        await thumbnails.nth(1).wait_for()
        loaded = "images => images.every(i => i.complete && Math.max(i.naturalWidth, i.naturalHeight) === 320)"
        await eventually(lambda: thumbnails.evaluate_all(loaded), what="both thumbnails to load")
        assert await thumbnails.count() == 2

    case = await case_seen_by(site, "property", case_id)  # the property company of 阳光小区
    assert (case["compound"], case["level"], case["owner"]) == ("HP-DF-QH-1", "COUNCIL", "PM-LVYUAN")
    assert (case["location"]["lat"], case["location"]["lon"]) == INSIDE_SUNSHINE
    assert case["reporter"] == {"name": "王**", "phone": "138****5678", "anonymous": False}
    assert len(case["photo_urls"]) == 2
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        for url in case["photo_urls"]:
            shown = await http.get(url, headers=bearer(site.keys["property"]))
            assert shown.status_code == 200 and carries_nothing_but_pixels(shown.content)
            assert (await http.get(url, headers=bearer(site.keys["jindi"]))).status_code == 403


async def test_report_by_picking_the_compound_anonymously(site, browser):
    async with phone(browser) as page:  # no location: the list
        await page.goto(f"{site.url}/resident/")
        await page.click("label.category:has-text('噪声扰民')")
        await page.fill("#compound-filter", "和谐")
        visible = await page.eval_on_selector_all("#compound option:not([hidden])", "os => os.map(o => o.value)")
        assert visible == ["", "HP-DF-QH-2"]
        await page.select_option("#compound", "HP-DF-QH-2")
        await page.fill("#description", "楼上每晚十二点后还在打鼓")
        await page.check("#anonymous")
        assert "部分隐去" in await page.text_content("#privacy")
        await page.click("button.primary[type=submit]")
        case_id = await page.locator("#case-id").text_content()
    case = await case_seen_by(site, "jindi", case_id)
    assert case["compound"] == "HP-DF-QH-2" and case["reporter"]["anonymous"] and case["location"] is None


async def test_a_place_in_no_compound_offers_the_nearest(site, browser):
    async with phone(browser, where=ON_THE_STREET) as page:
        await page.goto(f"{site.url}/resident/")
        await page.click("label.category:has-text('停车难')")
        await page.click("#locate")
        await page.locator("#located", has_text="这个位置不在任何小区内").wait_for()
        offered = await page.locator("#nearest button").all_text_contents()
        assert offered[:2] == ["和谐家园 · 47米", "阳光小区 · 50米"]
        assert await page.input_value("#compound") == ""
        await photograph(page, "3-nearest")
        await page.click("#nearest button:has-text('阳光小区')")
        assert await page.input_value("#compound") == "HP-DF-QH-1"
        await page.fill("#description", "消防通道上天天停满车")
        await page.fill("#phone", PHONE)
        await page.click("button.primary[type=submit]")
        case_id = await page.locator("#case-id").text_content()
    case = await case_seen_by(site, "property", case_id)
    assert case["compound"] == "HP-DF-QH-1" and (case["location"]["lat"], case["location"]["lon"]) == ON_THE_STREET

    # without the page's script, the form sent with the location alone answers with the same choice
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url) as http:
        form = {"category": "POULTRY", "lat": str(ON_THE_STREET[0]), "lon": str(ON_THE_STREET[1]), "phone": PHONE}
        answer = await http.post("/resident/report", data=form | {"description": "有人在绿地里养鸡"})
    assert answer.status_code == 422 and "这个位置不在任何小区内" in answer.text
    assert 'data-compound="HP-DF-QH-2"' in answer.text and 'data-compound="HP-DF-QH-1"' in answer.text


async def test_anonymous_only_where_the_category_allows_it(site, browser, pool):
    async with phone(browser) as page:
        await page.goto(f"{site.url}/resident/")
        await page.click("label.category:has-text('房屋渗水')")
        assert await page.is_disabled("#anonymous")
        assert await page.is_visible("#anonymous-refused")
        await page.click("label.category:has-text('养鸡')")
        assert await page.is_enabled("#anonymous") and not await page.is_visible("#anonymous-refused")

    form = {"category": "HOUSE_LEAK", "compound": "HP-DF-YL-1", "description": "屋顶漏水", "anonymous": "true"}
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url) as http:
        refused = await http.post("/resident/report", data=form)
        no_phone = await http.post("/resident/report", data={k: v for k, v in form.items() if k != "anonymous"})
    assert refused.status_code == 422 and "房屋渗水需要留下姓名和电话。" in refused.text
    assert no_phone.status_code == 422 and "请留下手机号" in no_phone.text
    assert await pool.fetchval("SELECT count(*) FROM open_issues WHERE category = 'HOUSE_LEAK'") == 0


async def test_a_file_that_is_no_photo_is_refused_with_its_reason_and_nothing_is_kept(site, pool):
    before = site.photo_files()
    form = {"category": "GREENERY_DESTROYED", "compound": "HP-DF-YL-2", "description": "绿地被挖了种菜", "phone": PHONE}
    files = [
        ("photo", ("garden.jpg", phone_photo(), "image/jpeg")),
        ("photo", ("garden2.jpg", b"%PDF-1.7 not a photo at all", "image/jpeg")),
    ]
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url) as http:
        refused = await http.post("/resident/report", data=form, files=files)
    assert refused.status_code == 422 and "第2张照片无法识别为照片" in refused.text and "请重新选择照片" in refused.text
    assert "绿地被挖了种菜" in refused.text  # what was typed is kept
    assert site.photo_files() == before  # not even the good photo of the two
    assert await pool.fetchval("SELECT count(*) FROM open_issues WHERE category = 'GREENERY_DESTROYED'") == 0


async def test_the_same_form_sent_again_after_a_lost_answer_gives_a_private_link_that_works(site):
    """A resident whose answer never came (the connection dropped) sends the same form again: its one-use key
    finds the case the first sending opened, and the answer carries a private link of their own."""
    form = {"category": "ROAD_SURFACE", "compound": "HP-XH-CH-1", "description": "小区门口路面塌了一个坑"}
    form |= {"name": NAME, "phone": PHONE, "form_key": uuid.uuid4().hex}
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url) as http:
        lost = await http.post("/resident/report", data=form)
        again = await http.post("/resident/report", data=form)
    assert lost.status_code == 201 and again.status_code == 200, again.text
    assert "这份反映已经收到过了" in again.text
    first_case, case_id = (re.search(r'id="case-id">([^<]+)<', page.text).group(1) for page in (lost, again))
    token = re.search(r'id="private-link" class="link" value="[^"#]+#t=([^"]+)"', again.text).group(1)
    assert case_id == first_case
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=site.url) as http:
        case = await http.get(f"/v1/cases/{case_id}", headers={"X-Case-Token": token})
    assert case.status_code == 200 and case.json()["description"] == "小区门口路面塌了一个坑"
