"""`whistle case …` and `whistle stats` on a real stack (time-skipping Temporal, PostgreSQL, a worker): Chinese
by default with names and Beijing times, English on request; what an operator types without a zone is
Beijing time, and a `--since` day is a Beijing day."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest_asyncio

from activities import registry, rollups
from client import cases
from i18n.language import CHINESE, ENGLISH, speaking
from tests.conftest import whistle_cli
from workers.worker import build_worker
from workflows.case import CaseWorkflow

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest_asyncio.fixture
async def worker(time_env, pool, task_queue, monkeypatch) -> AsyncIterator[None]:
    monkeypatch.setenv("WHISTLE_TASK_QUEUE", task_queue)  # the CLI starts its cases on this worker's queue
    monkeypatch.setenv("WHISTLE_TIMEZONE", "Asia/Shanghai")
    async with build_worker(time_env.client, pool, task_queue):
        yield


async def report(time_env, database_url, compound: str, category: str, **told: str) -> tuple[str, str, str]:
    """`whistle case report` in the language asked for: the case id, what the first line says, the token."""
    printed = await whistle_cli(
        time_env,
        database_url,
        *("case", "report", "--compound", compound, "--category", category, "--description", "纸箱堵住楼梯"),
        **told,
    )
    first, second = printed.splitlines()
    case_id, outcome = first.split(maxsplit=1)
    return case_id, outcome, second


async def test_a_case_reads_in_chinese_with_beijing_times_and_in_english_on_request(
    worker, time_env, pool, database_url
):
    case_id, outcome, token_line = await report(time_env, database_url, "HP-DF-QH-1", "CORRIDOR_CLUTTER")
    assert outcome == "已立案" and token_line.startswith("居民访问凭证（只显示这一次）：")
    assert len(token_line.split()[-1]) >= 20  # the token, last on its line
    view = await cases.wait_until_open(time_env.client, case_id)
    async with pool.acquire() as connection:
        book = await registry.name_book(connection)
    deadline = view.deadline.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")

    shown = await whistle_cli(time_env, database_url, "case", "show", case_id)
    with speaking(CHINESE):
        owner = book(view.owner)
    assert f"{case_id}  已上报  层级：小区三方  责任方：{owner}（{view.owner}）  楼道杂物（一般）" in shown
    assert f"期限：{deadline} 北京时间（还剩 " in shown
    assert view.deadline.astimezone(UTC).strftime("%Y-%m-%d %H:%M") not in shown  # converted, not relabelled
    assert "阳光小区 · " in shown and "纸箱堵住楼梯" in shown
    assert "时间（北京时间）" in shown and "经居民端上报：楼道杂物（一般）" in shown  # the timeline, as sentences
    assert not {"REPORTED", "COUNCIL", "CORRIDOR_CLUTTER", "ORDINARY", "APP"} & set(shown.replace("│", " ").split())

    english = await whistle_cli(time_env, database_url, "case", "show", case_id, language="en")
    with speaking(ENGLISH):
        owner = book(view.owner)
    assert f"{case_id}  reported  level: compound council  owner: {owner} ({view.owner})" in english
    assert "Corridor clutter, ordinary" in english
    assert f"deadline: {deadline} Beijing time (" in english and " left)" in english
    assert "time (Beijing time)" in english and "Reported through app: Corridor clutter, ordinary" in english
    assert "已上报" not in english

    refused = await whistle_cli(time_env, database_url, "case", "act", case_id, "accept", "--as", "XF", exit_code=1)
    assert refused.startswith("已拒绝（Forbidden）：XF cannot accept") and len(refused.strip().splitlines()) == 1
    refused = await whistle_cli(
        time_env, database_url, "case", "act", case_id, "accept", "--as", "XF", exit_code=1, language="en"
    )
    assert refused.startswith("rejected (Forbidden): XF cannot accept")


async def test_a_time_typed_without_a_zone_is_beijing_time(worker, time_env, database_url):
    case_id, _, _ = await report(time_env, database_url, "HP-DF-YL-1", "CORRIDOR_CLUTTER")
    owner = (await cases.wait_until_open(time_env.client, case_id)).owner
    day = (datetime.now(BEIJING) + timedelta(days=3)).date()
    typed = f"{day.isoformat()} 18:00"
    request = ("case", "act", case_id, "request-extension", "--as", owner, "--reason", "配件在途")

    answer = await whistle_cli(time_env, database_url, *request, "--until", typed)
    view = await cases.case_handle(time_env.client, case_id).query(CaseWorkflow.view)
    assert view.extension is not None
    assert view.extension.until == datetime.combine(day, time(10, 0), UTC)  # 18:00 in Beijing is 10:00 UTC
    assert f"申请延期至 {day.month}月{day.day}日 18:00：配件在途" in answer  # and it reads back as typed

    refused = await whistle_cli(time_env, database_url, *request, "--until", "next week", exit_code=2)
    assert "'next week' 不是时间" in refused


async def test_stats_since_a_day_counts_from_that_beijing_midnight(time_env, pool, database_url):
    """2026-10-31 begins in Beijing at 2026-10-30T16:00Z: a case reported a second before is October 30th's."""
    reported = {
        "WH-20261030-CLI001": datetime(2026, 10, 30, 15, 59, 59, tzinfo=UTC),  # 23:59:59 on 30 October in Beijing
        "WH-20261031-CLI002": datetime(2026, 10, 30, 16, 0, tzinfo=UTC),  # 00:00 on 31 October in Beijing
    }
    await pool.executemany(
        """INSERT INTO cases (case_id, status, level, severity, category, channel, district, street, community,
                              compound, owner, description, reported_at, updated_at, last_seq)
           VALUES ($1, 'REPORTED', 'COUNCIL', 'ORDINARY', 'NOISE', 'APP', 'HP', 'HP-XH', 'HP-XH-MY',
                   'HP-XH-MY-1', 'PM-HUAXIA', 'drums', $2, $2, 1)""",
        list(reported.items()),
    )
    async with pool.acquire() as connection:  # written beside the projection: add them to the roll-ups
        await rollups.backfill(connection)

    def figures(printed: str) -> dict[str, str]:
        rows = (line.split("│") for line in printed.splitlines() if line.count("│") == 3)
        return {row[1].strip(): row[2].strip() for row in rows}

    since_31 = await whistle_cli(time_env, database_url, "stats", "--street", "HP-XH-MY-1", "--since", "2026-10-31")
    assert figures(since_31)["上报案件数"] == "1", since_31
    title = "".join(since_31.split())  # the title wraps at the table's width
    assert "2026-10-31起上报的案件" in title and "北京时间" in title
    since_30 = await whistle_cli(time_env, database_url, "stats", "--street", "HP-XH-MY-1", "--since", "2026-10-30")
    assert figures(since_30)["上报案件数"] == "2", since_30
    english = await whistle_cli(
        time_env, database_url, "stats", "--street", "HP-XH-MY-1", "--since", "2026-10-31", language="en"
    )
    assert figures(english)["cases reported"] == "1", english
