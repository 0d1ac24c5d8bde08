"""The sign-in page in real Chromium as a person on a phone uses it: Chinese, Beijing time, 390 px wide, no
sideways scrolling; a wrong password says so in Chinese; a lock-out says until when on Beijing's clock."""

from pathlib import Path

import pytest

from schemas.keys import Role
from tests.people import person, sign_in
from tests.supervisors.conftest import CHROMIUM, CHROMIUM_ARGS, PAGE_MS, SCREENSHOTS

PHONE = {"width": 390, "height": 844}


async def no_sideways_scroll(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


async def test_signing_in_on_a_phone_in_chinese(api_url, database_url):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (`apt-get install chromium`)")
    from playwright.async_api import async_playwright

    supervisor = await person(database_url, "HP-CENTRE", Role.SUPERVISOR, name="孙督办")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE)
        page = await context.new_page()
        page.set_default_timeout(PAGE_MS)
        try:
            await page.goto(f"{api_url}/dashboard/overdue")
            assert page.url.endswith("/signin?next=/dashboard/overdue")
            assert await page.text_content("h1") == "登录"
            assert await page.get_attribute("input[name=password]", "type") == "password"
            await no_sideways_scroll(page)
            if SCREENSHOTS:
                await page.screenshot(path=Path(SCREENSHOTS) / "signin-phone.png", full_page=True)

            await page.fill("input[name=account]", supervisor.account)
            for attempt in range(5):
                await page.fill("input[name=password]", "猜一个密码")
                await page.click("button[type=submit]")
                said = await page.text_content("[role=alert]")
                assert said == "账号或密码错误" if attempt < 4 else said.startswith("登录失败次数过多：该账号已锁定至 ")
            assert "UTC" not in said and await page.input_value("input[name=account]") == supervisor.account
            await no_sideways_scroll(page)

            another = await person(database_url, "HP-CENTRE", Role.SUPERVISOR, name="钱督办")
            await page.goto(f"{api_url}/dashboard/overdue")
            await sign_in(page, api_url, another)
            await page.wait_for_url("**/dashboard/")
            assert "钱督办" in await page.text_content("#whoami")
            await page.click(".whoami button")  # 退出
            await page.wait_for_url("**/signin")
            await page.goto(f"{api_url}/dashboard/")
            assert "/signin?next=" in page.url
        finally:
            await browser.close()
