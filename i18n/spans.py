"""Durations and numbers as a person says them: 还剩 2小时5分钟, 超时 3天, 85.2%."""

from datetime import timedelta

from babel.dates import format_timedelta
from babel.numbers import format_decimal, format_percent

from i18n.language import _, current

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def span(delta: timedelta) -> str:
    """The two largest whole units of `delta` (its sign dropped): 2小时5分钟 / 2 hours 5 minutes."""
    seconds = int(abs(delta).total_seconds())
    parts: list[str] = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count and len(parts) < 2:
            parts.append(
                format_timedelta(
                    timedelta(seconds=count * size), threshold=10**6, granularity=unit, format="long", locale=current()
                )
            )
        elif parts:
            break
    if not parts:
        return _("under a minute")
    return _("%(larger)s %(smaller)s") % {"larger": parts[0], "smaller": parts[1]} if len(parts) == 2 else parts[0]


def time_left(deadline_in: timedelta) -> str:
    """还剩 2小时5分钟 before a deadline, 超时 3天 after it."""
    if deadline_in >= timedelta(0):
        return _("%(span)s left") % {"span": span(deadline_in)}
    return _("%(span)s late") % {"span": span(deadline_in)}


def percent(rate: float | None) -> str:
    return "–" if rate is None else format_percent(rate, "#,##0.0%", locale=current())


def number(value: float | int) -> str:
    return format_decimal(value, locale=current())
