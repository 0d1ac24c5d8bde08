"""The timeline as sentences: what a case says itself reads in the reader's language, a person's words as written."""

from datetime import UTC, datetime

from i18n.language import CHINESE, ENGLISH, speaking
from i18n.names import NameBook
from i18n.timeline import narrate
from schemas.case import TASKS_DONE, VOLUNTEER_DONE, EventKind, TimelineEvent
from schemas.domain import Level

NAMES = NameBook({"XF": ("区消防救援支队", "District Fire Brigade")})
AT = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


def resolved(summary: str) -> TimelineEvent:
    details = {"summary": summary, "feedback_due": datetime(2026, 11, 27, 14, 0, tzinfo=UTC)}
    return TimelineEvent(seq=1, at=AT, kind=EventKind.RESOLVED, level=Level.DISTRICT, actor="XF", details=details)


def test_a_case_s_own_summary_reads_in_chinese_and_english():
    for summary, chinese in ((TASKS_DONE, "各职能部门任务均已完成"), (VOLUNTEER_DONE, "志愿者已办结")):
        with speaking(CHINESE):
            [line] = narrate([resolved(summary)], NAMES)
        assert chinese in line.sentence and summary not in line.sentence
        with speaking(ENGLISH):
            [line] = narrate([resolved(summary)], NAMES)
        assert summary in line.sentence


def test_a_person_s_summary_reads_as_written():
    with speaking(CHINESE):
        [line] = narrate([resolved("消防通道已设隔离桩")], NAMES)
    assert "区消防救援支队" in line.sentence and "消防通道已设隔离桩" in line.sentence
