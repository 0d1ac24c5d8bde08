"""What an operator types: a time without a zone is on the deployment's clock, a day is a local day."""

from datetime import UTC, datetime

import pytest
import typer

from cli.typed import typed_day, typed_time


@pytest.fixture(autouse=True)
def beijing(monkeypatch):
    monkeypatch.setenv("WHISTLE_TIMEZONE", "Asia/Shanghai")


def test_a_time_without_a_zone_is_local():
    assert typed_time("2026-12-01 18:00") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert typed_time("2026-12-01T18:00:30") == datetime(2026, 12, 1, 10, 0, 30, tzinfo=UTC)
    assert typed_time("2026-12-01") == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_a_time_with_a_zone_keeps_it():
    assert typed_time("2026-12-01T18:00+08:00") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert typed_time("2026-12-01T18:00Z") == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert typed_time("2026-12-01 18:00+01:00") == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def test_a_day_starts_at_local_midnight():
    assert typed_day("2026-10-31") == datetime(2026, 10, 30, 16, 0, tzinfo=UTC)


def test_a_day_across_a_daylight_saving_change(monkeypatch):
    monkeypatch.setenv("WHISTLE_TIMEZONE", "Europe/Berlin")
    assert typed_day("2026-10-25") == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # still summer time at midnight
    assert typed_day("2026-10-26") == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # winter time
    assert typed_time("2026-10-26 18:00") == datetime(2026, 10, 26, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01 18:00", "18:00", ""])
def test_what_is_not_a_time_is_refused(text):
    with pytest.raises(typer.BadParameter, match="2026-12-01 18:00"):
        typed_time(text)


@pytest.mark.parametrize("text", ["2026-10-31 08:00", "31.10.2026", ""])
def test_what_is_not_a_day_is_refused(text):
    with pytest.raises(typer.BadParameter, match="2026-10-31"):
        typed_day(text)
