"""What the resident is told at each step: one line in Chinese, short enough for an SMS, with the case's link."""

import re

from activities import notifications
from schemas.case import Accept, Actor, Feedback, Resolve, Signoff, Whistle
from tests.resident.conftest import REPORTER
from tests.waiting import eventually
from workflows.case import CaseWorkflow

JINDI = Actor(org="PM-JINDI")  # property company of HP-DF-QH-2
MOMENT = r"\d{1,2}月\d{1,2}日 \d\d:\d\d"


async def test_the_resident_hears_each_step_in_one_short_chinese_line_with_the_link(resident, pool, monkeypatch):
    monkeypatch.setenv("WHISTLE_PUBLIC_URL", "https://whistle.example.cn/")
    handle, token = await resident.report(compound="HP-DF-QH-2", category="CORRIDOR_CLUTTER", reporter=REPORTER)
    await resolve_at_council_of(handle)
    await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=False, score=2))
    view = await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=JINDI, reason="需要社区协调"))
    community = Actor(org="HP-DF-QH")
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=community))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=community, summary="杂物已清走"))
    await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=5))
    case_id = view.case_id
    topics = ["REPORTED", "FEEDBACK_REQUESTED", "REOPENED", "ESCALATED", "CLOSED"]

    async def told() -> dict[str, notifications.OutboxEntry]:
        async with pool.acquire() as connection:
            entries = await notifications.outbox(connection, case_id=case_id, limit=100)
        return {n.topic: n for n in entries if n.recipient == f"resident:{case_id}"}

    messages = await eventually(told, lambda found: set(topics) <= set(found), what="the resident's messages")
    texts = {topic: messages[topic].payload["text"] for topic in topics}  # FEEDBACK_REQUESTED: the first
    assert re.fullmatch(rf"您反映的楼道杂物已受理（{case_id}），小区三方将于{MOMENT}前处理。", texts["REPORTED"])
    assert re.fullmatch(rf"您反映的楼道杂物（{case_id}）已办结，请于{MOMENT}前评价。", texts["FEEDBACK_REQUESTED"])
    assert re.fullmatch(rf"您反映的楼道杂物（{case_id}）已重新办理，将于{MOMENT}前处理完毕。", texts["REOPENED"])
    assert re.fullmatch(rf"您反映的楼道杂物（{case_id}）已上报至社区处理，将于{MOMENT}前处理完毕。", texts["ESCALATED"])
    assert texts["CLOSED"] == f"您反映的楼道杂物（{case_id}）已结案：居民满意。"
    for topic in topics:
        assert len(texts[topic]) <= notifications.RESIDENT_TEXT, texts[topic]
        assert messages[topic].payload["link"] == f"https://whistle.example.cn/resident/cases/{case_id}"
        assert REPORTER.phone not in str(messages[topic].payload) and REPORTER.name not in str(messages[topic].payload)
    async with pool.acquire() as connection:
        entries = await notifications.outbox(connection, case_id=case_id, limit=100)
    organisation = next(n for n in entries if n.recipient == "PM-JINDI")
    assert "link" not in organisation.payload  # organisations work through the API, not the resident's page


async def resolve_at_council_of(handle):
    """HP-DF-QH-2's council: the property company proposes, the community committee signs off."""
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=JINDI))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=JINDI, summary="楼道已清理"))
    await handle.execute_update(CaseWorkflow.signoff, Signoff(actor=Actor(org="HP-DF-QH"), agree=True))
