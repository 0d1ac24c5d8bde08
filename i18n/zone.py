"""The deployment's time zone (WHISTLE_TIMEZONE, an IANA name; Asia/Shanghai by default).

Storage and Temporal keep UTC. Everything a person reads or types, and every calendar period (a case id's
date, a statistics day, week or month, a ranking period), is on this zone's clock.
"""

import os
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, get_timezone_name

from i18n.language import _, current

ZONE_ENV = "WHISTLE_TIMEZONE"
DEFAULT_ZONE = "Asia/Shanghai"
_BEIJING = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC"}


class UnknownZone(ValueError):
    pass


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZone(f"{ZONE_ENV}={name!r} is not an IANA time zone name (e.g. Asia/Shanghai)") from None


def deployment_zone() -> ZoneInfo:
    return _zone(os.environ.get(ZONE_ENV) or DEFAULT_ZONE)


def zone_label() -> str:
    """How a person names the zone: 北京时间 / Beijing time, else the zone's own name in the language."""
    zone = deployment_zone()
    if zone.key in _BEIJING:
        return _("Beijing time")
    return get_timezone_name(zone, "long", locale=current())


def utc(moment: datetime) -> datetime:
    """A naive time is UTC, as Whistle records every time in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local(moment: datetime) -> datetime:
    return utc(moment).astimezone(deployment_zone())


def local_time(moment: datetime, pattern: str = "%Y-%m-%d %H:%M", *, label: bool = True) -> str:
    """`moment` on the deployment's clock, e.g. "2026-11-25 18:00 北京时间". Without `label` the zone is named
    elsewhere, e.g. in a column heading."""
    shown = local(moment).strftime(pattern)
    return f"{shown} {zone_label()}" if label else shown


def local_date_text(moment: datetime, pattern: str = "long") -> str:
    """A local date in the language: 2026年10月8日 / Oct 8, 2026 (Babel patterns: short, medium, long, MMMd)."""
    return format_datetime(utc(moment), pattern, tzinfo=deployment_zone(), locale=current())


def local_day(moment: datetime) -> date:
    """The local calendar day `moment` falls on: a case reported at 23:30 on 31 October is October's."""
    return local(moment).date()


def day_start(day: date) -> datetime:
    """The instant the local `day` begins, in UTC (23 or 25 hours apart across a daylight-saving change)."""
    return datetime.combine(day, time(), deployment_zone()).astimezone(UTC)


def as_local(moment: datetime) -> datetime:
    """A time a person typed: without a zone it is local; with one it is kept. Returned in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=deployment_zone())
    return moment.astimezone(UTC)


def moment_text(moment: datetime) -> str:
    """A moment inside a sentence, in the language: 11月25日 18:00 / Nov 25, 18:00."""
    return format_datetime(utc(moment), _("MMM d, HH:mm"), tzinfo=deployment_zone(), locale=current())
