"""Times a person reads: converted to the deployment's zone and labelled with it, never relabelled."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DEPLOYMENT_ZONE = ZoneInfo("Asia/Shanghai")
ZONE_LABEL = "北京时间"


def local_time(moment: datetime, pattern: str = "%Y-%m-%d %H:%M", *, label: bool = True) -> str:
    """`moment` on the deployment's clock, e.g. "2026-11-25 18:00 北京时间" (a naive time is UTC, as Whistle
    records every time in UTC). Without `label` the zone is named elsewhere, e.g. in a column heading."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    shown = aware.astimezone(DEPLOYMENT_ZONE).strftime(pattern)
    return f"{shown} {ZONE_LABEL}" if label else shown
