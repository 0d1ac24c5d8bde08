"""How the command line shows what it prints: times on the deployment's clock with the zone named, deadlines
with the time left in words, registry codes by their names."""

from datetime import datetime

import typer
from rich.console import Console

from i18n.language import _
from i18n.names import NameBook
from i18n.spans import time_left
from i18n.zone import local_time, zone_label

console = Console()
MINUTE = "%Y-%m-%d %H:%M"
SECOND = "%Y-%m-%d %H:%M:%S"


def at(moment: datetime | None, pattern: str = MINUTE) -> str:
    """A local time in a column whose heading names the zone (`zoned`); "" for none."""
    return local_time(moment, pattern, label=False) if moment else ""


def zoned(heading: str) -> str:
    """A column heading of local times: "期限（北京时间）"."""
    return _("%(heading)s (%(zone)s)") % {"heading": heading, "zone": zone_label()}


def due(deadline: datetime | None, now: datetime, pattern: str = MINUTE, *, label: bool = False) -> str:
    """A deadline and the time left (or how late it is): "2026-11-25 18:00（还剩 2小时5分钟）"; with `label`
    the zone is named after the time, for a deadline outside a table."""
    if deadline is None:
        return ""
    time = local_time(deadline, pattern, label=label)
    return _("%(time)s (%(left)s)") % {"time": time, "left": time_left(deadline - now)}


def labelled(names: NameBook, code: str | None) -> str:
    """A code the operator types next, after its name: "绿苑物业 (PM-LVYUAN)"."""
    if code is None:
        return "–"
    name = names(code)
    return code if name == code else _("%(name)s (%(code)s)") % {"name": name, "code": code}


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line on stderr; raise the answer to end the command with `code`."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)
