"""The deadlines page says how long is left, or how late a case is, the way a person says it, beside the local
deadline (the page rendered at a chosen moment, without a browser)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import URL

from api.pages import templates
from i18n.language import CHINESE, ENGLISH, speaking
from i18n.names import NameBook
from schemas.case import CaseSummary
from schemas.domain import Channel, Level, Severity, Status

NOW = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)  # 23:30 in Beijing
NAMES = NameBook({"HP-CENTRE": ("和平区吹哨报到指挥中心", "District command centre"), "NOISE": ("噪声扰民", "Noise")})


def case(number: int, deadline: datetime, overdue: bool = False) -> CaseSummary:
    return CaseSummary(
        case_id=f"WH-20261031-00000{number}",
        status=Status.IN_PROGRESS,
        level=Level.DISTRICT,
        severity=Severity.MAJOR,
        category="NOISE",
        channel=Channel.HOTLINE,
        district="HP",
        street="HP-DF",
        community="HP-DF-QH",
        compound="HP-DF-QH-1",
        owner="HP-CENTRE",
        description="karaoke at night",
        reported_at=NOW - timedelta(days=5),
        updated_at=NOW,
        deadline=deadline,
        overdue=overdue,
    )


def rows(language: str) -> dict[str, tuple[str, str]]:
    """Each case's (deadline, time left) cells of the page rendered at NOW."""
    late = case(1, NOW - timedelta(days=3, minutes=20), overdue=True)
    due = case(2, NOW + timedelta(hours=2, minutes=5))
    with speaking(language):
        page = templates.env.get_template("overdue.html").render(
            cases=[late, due], now=NOW, names=NAMES, caller=None, here=URL("/dashboard/overdue")
        )
    found = {}
    for summary in (late, due):
        row = page.split(f'data-case="{summary.case_id}"')[1].split("</tr>")[0]
        deadline = re.search(r'class="deadline"[^>]*>([^<]*)<', row).group(1)
        left = re.search(r'class="countdown"[^>]*>([^<]*)<', row).group(1)
        found[summary.case_id] = (deadline.strip(), " ".join(left.split()))
    return found


@pytest.mark.parametrize(
    "language, late, due",
    [
        (CHINESE, ("10月28日 23:10", "超时 3天"), ("11月1日 01:35", "还剩 2小时5分钟")),
        (ENGLISH, ("Oct 28, 23:10", "3 days late"), ("Nov 1, 01:35", "2 hours 5 minutes left")),
    ],
)
def test_time_left_and_time_late_beside_the_beijing_deadline(monkeypatch, language, late, due):
    monkeypatch.setenv("WHISTLE_TIMEZONE", "Asia/Shanghai")
    assert rows(language) == {"WH-20261031-000001": late, "WH-20261031-000002": due}
