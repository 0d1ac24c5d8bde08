"""Times handed to programs carry the deployment's offset: the same instant, on its clock."""

from datetime import UTC, datetime, timedelta

import jsonschema_rs
from pydantic import TypeAdapter

from i18n.offsets import on_local_clock


def test_every_time_in_a_json_value_is_on_the_deployments_clock():
    given = {
        "reported_at": "2026-11-24T01:43:46Z",
        "stage": {"deadline": "2026-11-24T01:43:46.5+00:00", "budget": "PT4H"},
        "timeline": [{"at": datetime(2026, 11, 24, 1, 43, 46, tzinfo=UTC), "details": {"until": "2026-11-25T10:00Z"}}],
        "period": "2026-11",
        "note": "see 2026-11-24T01:43:46Z",
        "count": 3,
    }
    assert on_local_clock(given) == {
        "reported_at": "2026-11-24T09:43:46+08:00",
        "stage": {"deadline": "2026-11-24T09:43:46.500000+08:00", "budget": "PT4H"},
        "timeline": [{"at": "2026-11-24T09:43:46+08:00", "details": {"until": "2026-11-25T10:00Z"}}],  # not RFC 3339
        "period": "2026-11",
        "note": "see 2026-11-24T01:43:46Z",  # only a whole value is a time
        "count": 3,
    }


def test_a_daylight_saving_zone_gives_each_instant_its_own_offset(monkeypatch):
    monkeypatch.setenv("WHISTLE_TIMEZONE", "Europe/Berlin")
    assert on_local_clock(["2026-01-15T12:00:00Z", "2026-07-15T12:00:00Z", "2026-10-25T00:30:00Z"]) == [
        "2026-01-15T13:00:00+01:00",
        "2026-07-15T14:00:00+02:00",
        "2026-10-25T02:30:00+02:00",  # half an hour before the clocks go back
    ]


def test_before_standard_time_the_offset_keeps_whole_minutes():
    """Shanghai's local mean time (+08:05:43) is no RFC 3339 offset; the instant stays the same."""
    shown = on_local_clock("0369-03-03T02:25:31Z")
    assert shown == "0369-03-03T10:30:31+08:05"
    assert datetime.fromisoformat(shown) == datetime(369, 3, 3, 2, 25, 31, tzinfo=UTC)


def test_durations_go_out_in_whole_seconds_as_rfc_3339_writes_them():
    """Found by schemathesis' stateful run: a case paused for 40.8 s answered `"paused": "PT40.781568S"`, which
    is no `duration` (RFC 3339 has no fraction of a second), the format the OpenAPI document declares."""
    written = TypeAdapter(list[timedelta]).dump_python(
        [timedelta(seconds=40.781568), timedelta(days=1, hours=2, minutes=3, seconds=4.5), timedelta(hours=4)],
        mode="json",
    )
    shown = on_local_clock({"stage": {"paused": written[0]}, "durations": written, "note": "PT40.5S later"})
    assert shown == {
        "stage": {"paused": "PT40S"},
        "durations": ["PT40S", "P1DT2H3M4S", "PT4H"],
        "note": "PT40.5S later",  # only a whole value is a duration
    }
    rfc_3339_duration = jsonschema_rs.validator_for({"type": "string", "format": "duration"}, validate_formats=True)
    assert all(rfc_3339_duration.is_valid(text) for text in shown["durations"])
