"""Downloads of the scenario's statistics and case lists: API (streamed), CLI and dashboard, CSV and XLSX."""

import asyncio
import csv
import io
import re
import zipfile
from zoneinfo import ZoneInfo

import httpx

from activities.statistics import statistics
from schemas.statistics import StatisticsQuery
from tests.supervisors.conftest import bearer, signed_in_http
from tests.supervisors.test_dashboard import whistle
from tests.waiting import HTTP_TIMEOUT

BOM = "\ufeff".encode()


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM)  # so that Excel opens Chinese correctly
    return list(csv.reader(io.StringIO(body[len(BOM) :].decode("utf-8"))))


def sheets(body: bytes) -> dict[str, str]:
    """Sheet name -> the sheet's XML (constant-memory XLSX keeps its strings inline)."""
    book = zipfile.ZipFile(io.BytesIO(body))
    names = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
    return {name: book.read(f"xl/worksheets/sheet{n}.xml").decode() for n, name in enumerate(names, 1)}


async def test_statistics_download_in_chinese_csv_and_english_xlsx(served, pool, scripted):
    params = {"as_of": scripted.as_of.isoformat()}
    async with httpx.AsyncClient(
        timeout=HTTP_TIMEOUT, base_url=served.url, headers=bearer(served.supervisor_key)
    ) as http:
        figures = await http.get("/v1/supervisor/exports/statistics", params=params)
        companies = await http.get("/v1/supervisor/exports/statistics", params=params | {"table": "organisations"})
        workbook = await http.get("/v1/supervisor/exports/statistics", params=params | {"format": "xlsx", "lang": "en"})
        wrong = await http.get("/v1/supervisor/exports/statistics", params={"format": "pdf"})
    async with pool.acquire() as connection:
        stats = await statistics(connection, StatisticsQuery(jurisdiction="HP", as_of=scripted.as_of))

    assert figures.status_code == 200 and figures.headers["content-type"].startswith("text/csv")
    assert "attachment" in figures.headers["content-disposition"]
    rows = read_csv(figures.content)
    assert rows[0] == ["指标", "数量", "总数", "比率"]
    by_label = {row[0]: row[1:] for row in rows[1:]}
    assert by_label["上报案件数"] == [str(stats.reported), "", ""]
    response = stats.rates.response
    assert by_label["响应率"] == [str(response.count), str(response.of), str(round(response.rate, 4))]
    organisations = read_csv(companies.content)
    assert "华夏物业" in {row[0] for row in organisations[1:]}  # names, not codes

    assert workbook.status_code == 200 and workbook.headers["content-type"].endswith("spreadsheetml.sheet")
    book = sheets(workbook.content)
    assert list(book) == ["figures", "levels", "organisations", "departments", "trend"]
    assert "response rate (响应率)" in book["figures"] and "Huaxia" in book["organisations"]
    assert wrong.status_code == 422  # a clear error, nothing written


async def test_case_list_download_has_every_matching_case_in_beijing_time(served, pool, scripted):
    async with httpx.AsyncClient(
        timeout=HTTP_TIMEOUT, base_url=served.url, headers=bearer(served.supervisor_key)
    ) as http:
        every = await http.get("/v1/supervisor/exports/cases", params={"limit": 1})  # the page size does not cut it
        english = await http.get("/v1/supervisor/exports/cases", params={"street": "HP-XH", "lang": "en"})
    rows = read_csv(every.content)
    assert rows[0][:3] == ["案件编号", "上报时间（北京时间）", "状态"]
    expected = await pool.fetch("SELECT case_id, reported_at FROM cases WHERE district = 'HP' ORDER BY case_id")
    assert sorted(row[0] for row in rows[1:]) == [row["case_id"] for row in expected]
    first = next(row for row in rows[1:] if row[0] == expected[0]["case_id"])
    shanghai = expected[0]["reported_at"].astimezone(ZoneInfo("Asia/Shanghai"))
    assert first[1] == shanghai.strftime("%Y-%m-%d %H:%M")
    english_rows = read_csv(english.content)
    assert english_rows[0][:2] == ["case", "reported (Beijing time)"] and len(english_rows) == 2


async def test_cli_and_dashboard_downloads(served, scripted, tmp_path):
    target = tmp_path / "cases.xlsx"
    written = await asyncio.to_thread(whistle, served, "stats", "export", str(target), "--table", "cases")
    assert written.returncode == 0, written.stderr
    assert "案件" in sheets(target.read_bytes())["案件"]
    figures = tmp_path / "figures.csv"
    written = await asyncio.to_thread(whistle, served, "stats", "export", str(figures), "--street", "HP-XH")
    assert written.returncode == 0, written.stderr
    assert ["上报案件数", "1", "", ""] in read_csv(figures.read_bytes())

    async with signed_in_http(served) as http:
        page = await http.get("/dashboard/", params={"since": "2020-01-01"})
        download = await http.get("/dashboard/export/statistics", params={"since": "2020-01-01"})
        open_cases = await http.get("/dashboard/export/cases", params={"format": "xlsx"})
    assert 'id="response-rate"' in page.text and "/dashboard/export/statistics?" in page.text
    assert ["上报案件数", "4", "", ""] in read_csv(download.content)
    assert open_cases.status_code == 200 and "案件" in sheets(open_cases.content)
