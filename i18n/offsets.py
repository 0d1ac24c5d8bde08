"""Times written for programs (ISO 8601 / RFC 3339) carry the deployment's offset: `2026-11-24T09:43:46+08:00`
is the instant `2026-11-24T01:43:46Z`, as read on the clock of the people who use Whistle.

Whistle keeps every time in UTC; what it hands out (API answers, webhook payloads) is re-expressed here, in
one pass over the JSON it sends. A string that is exactly an RFC 3339 date-time is taken for a time: were a
person to type nothing but such a timestamp into a free-text field, it would come back as the same instant on
the deployment's clock.

Durations go out in whole seconds: pydantic writes a timedelta's microseconds as a fraction (`PT40.781568S`,
a pause of 40.8 s), which RFC 3339's durations (the `duration` format the OpenAPI document declares) do not
have; the fraction is dropped. Found by schemathesis' stateful run.
"""

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from i18n.zone import local

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_FRACTIONAL_DURATION = re.compile(r"(P(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?T(?:\d+H)?(?:\d+M)?\d+)\.\d+S")


def iso(moment: datetime) -> str:
    """`moment` in ISO 8601 with the deployment's offset (a naive time is UTC, as Whistle records). Before
    standard time (Shanghai's local mean time was +08:05:43) the offset is cut to whole minutes, as RFC 3339
    requires: the same instant still."""
    shown = local(moment)
    offset = shown.utcoffset() or timedelta(0)
    if offset % timedelta(minutes=1):
        shown = shown.astimezone(timezone(offset // timedelta(minutes=1) * timedelta(minutes=1)))
    return shown.isoformat()


def on_local_clock(value: Any) -> Any:
    """`value` (JSON-shaped: dicts, lists, strings, numbers; datetimes too) with every time on the deployment's
    clock: the same instants, the deployment's offset; and every duration in whole seconds."""
    if isinstance(value, dict):
        return {key: on_local_clock(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [on_local_clock(item) for item in value]
    if isinstance(value, datetime):
        try:
            return iso(value)
        except OverflowError:  # off the calendar once moved (0001-01-01T00:00:00+01:00): as it was given
            return value.isoformat()
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        try:
            return iso(datetime.fromisoformat(value))
        except (ValueError, OverflowError):  # not a real date (month 13), or off the calendar once moved
            return value
    if isinstance(value, str) and (duration := _FRACTIONAL_DURATION.fullmatch(value)):
        return f"{duration[1]}S"
    return value
