"""A resident's phone: Debian's chromium driven by Playwright at 390x844, zh-CN, Asia/Shanghai."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.waiting import WITHIN

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]
PHONE_SIZE = {"width": 390, "height": 844}
SCREENSHOTS = os.environ.get("WHISTLE_SCREENSHOTS")  # a folder: the tests photograph each step there


def chromium() -> Path:
    if not CHROMIUM.exists():  # `make test` installs it (apt-get); only a machine that cannot gets here
        pytest.skip(f"{CHROMIUM} is missing and could not be installed (`apt-get install chromium`)")
    return CHROMIUM


@asynccontextmanager
async def phone(browser, *, where: tuple[float, float] | None = None) -> AsyncIterator:
    """A fresh phone (no cookies) whose location, when given, is `where` (lat, lon) and may be read."""
    context = await browser.new_context(
        viewport=PHONE_SIZE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation={"latitude": where[0], "longitude": where[1]} if where else None,
        permissions=["geolocation"] if where else [],
    )
    context.set_default_timeout(WITHIN * 1000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def fits_the_screen(page) -> bool:
    """Nothing wider than the phone: no horizontal scrolling (a mobile browser widens its layout to content
    wider than the screen, so the measure is the phone's width, not the window's)."""
    return await page.evaluate(f"document.documentElement.scrollWidth <= {PHONE_SIZE['width']}")


async def photograph(page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"resident-{name}.png"), full_page=True, scale="css")
