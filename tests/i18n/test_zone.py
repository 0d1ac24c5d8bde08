"""Times a person reads are converted to Beijing time and say so, never relabelled."""

from datetime import UTC, datetime, timedelta, timezone

from i18n.zone import local_time


def test_a_beijing_time_is_shown_as_entered_and_labelled():
    until = datetime.fromisoformat("2026-11-25T18:00:00+08:00")
    assert local_time(until) == "2026-11-25 18:00 北京时间"


def test_other_zones_are_converted_not_relabelled():
    assert local_time(datetime(2026, 11, 25, 10, 0, tzinfo=UTC)) == "2026-11-25 18:00 北京时间"
    new_york = timezone(timedelta(hours=-5))
    assert local_time(datetime(2026, 11, 24, 23, 30, tzinfo=new_york)) == "2026-11-25 12:30 北京时间"
    assert local_time(datetime(2026, 11, 25, 17, 0)) == "2026-11-26 01:00 北京时间"  # naive: recorded in UTC


def test_a_pattern_and_no_label_for_table_cells():
    moment = datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC)
    assert local_time(moment, "%m-%d %H:%M:%S", label=False) == "11-25 18:00:05"
