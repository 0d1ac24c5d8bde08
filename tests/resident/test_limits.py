"""Abuse limits on what anyone may send without a key: reports per address and per phone number, photo uploads
per address; a clear 429 with Retry-After, and nothing reported."""

import httpx

from api import keys
from client.settings import Settings
from schemas.domain import Channel
from schemas.keys import Role
from tests.api.conftest import serving
from tests.resident.conftest import GENEROUS, PHONE, site_settings
from tests.resident.photos import phone_photo
from tests.waiting import HTTP_TIMEOUT
from workers.worker import build_worker

DEFAULTS = Settings()
REPORTS = [  # five different issues (none links to another)
    ("HP-DF-QH-1", "NOISE"),
    ("HP-DF-QH-2", "NOISE"),
    ("HP-DF-YL-1", "NOISE"),
    ("HP-DF-YL-2", "NOISE"),
    ("HP-XH-MY-1", "NOISE"),
]


def report(compound: str, category: str, phone: str | None = None) -> dict:
    reporter = {"phone": phone} if phone else {"anonymous": True}
    return {"compound": compound, "category": category, "description": "鼓声", "reporter": reporter}


async def test_the_sixth_report_in_a_minute_from_one_address_is_refused(dev_env, pool, database_url, tmp_path):
    assert (DEFAULTS.report_rate_limit, DEFAULTS.phone_rate_limit) == ("5/minute", "10/day")
    settings = site_settings(
        dev_env, database_url, tmp_path, report_rate_limit=DEFAULTS.report_rate_limit, phone_rate_limit="1000/day"
    )
    async with pool.acquire() as connection:
        hotline = (await keys.issue(connection, "HOTLINE-12345", Role.INTAKE, channel=Channel.HOTLINE)).key
    async with build_worker(dev_env.client, pool, settings.task_queue), serving(settings) as url:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=url) as http:
            for compound, category in REPORTS:
                accepted = await http.post("/v1/cases", json=report(compound, category))
                assert accepted.status_code == 201, accepted.text
            sixth = await http.post(
                "/v1/cases", json=report("HP-XH-MY-2", "POULTRY"), headers={"Accept-Language": "en"}
            )
            page = await http.post(
                "/resident/report",
                data={"category": "POULTRY", "compound": "HP-XH-MY-2", "description": "鸡", "anonymous": "true"},
            )
            ticket = {**report("HP-XH-MY-2", "POULTRY"), "channel": "HOTLINE", "external_id": "12345-9"}
            keyed = await http.post("/v1/cases", json=ticket, headers={"Authorization": f"Bearer {hotline}"})
    assert sixth.status_code == 429 and 0 < int(sixth.headers["retry-after"]) <= 60
    assert sixth.json()["detail"].startswith("Too many reports from this address: at most 5 in 1 minute. Try again in")
    assert page.status_code == 429 and "这个网络地址反映问题太频繁：1分钟内最多5次" in page.text
    assert "retry-after" in page.headers
    assert keyed.status_code == 201  # an intake channel's key reports for many residents: not limited
    # the refused reports opened nothing: the only POULTRY case of HP-XH-MY-2 is the hotline's
    poultry = "SELECT count(*) FROM open_issues WHERE compound = 'HP-XH-MY-2' AND category = 'POULTRY'"
    assert await pool.fetchval(poultry) == 1


async def test_reports_per_phone_number_and_uploads_per_address(dev_env, pool, database_url, tmp_path):
    settings = site_settings(
        dev_env,
        database_url,
        tmp_path,
        report_rate_limit=GENEROUS,
        phone_rate_limit="2/day",
        upload_rate_limit="2/minute",
    )
    async with build_worker(dev_env.client, pool, settings.task_queue), serving(settings) as url:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, base_url=url) as http:
            for compound in ("HP-XH-CH-1", "HP-XH-CH-2"):
                assert (await http.post("/v1/cases", json=report(compound, "PARKING", PHONE))).status_code == 201
            again = await http.post("/v1/cases", json=report("HP-DF-QH-1", "PARKING", "138 1234 5678"))
            other = await http.post("/v1/cases", json=report("HP-DF-QH-1", "PARKING", "13900001111"))
            uploads = [
                await http.post("/v1/photos", files=[("photo", ("p.jpg", phone_photo(size=(64, 48)), "image/jpeg"))])
                for _ in range(3)
            ]
    assert again.status_code == 429 and "这个手机号反映问题太频繁：1天内最多2次" in again.json()["detail"]
    assert other.status_code == 201
    assert [u.status_code for u in uploads] == [201, 201, 429] and "retry-after" in uploads[2].headers
