"""What an operator types: a time without a zone is on the deployment's clock, a day is a local day."""

from datetime import date, datetime

import typer

from i18n.language import _
from i18n.zone import as_local, day_start, zone_label


def typed_time(text: str) -> datetime:
    """A time as typed (2026-12-01 18:00 is local; 2026-12-01T18:00+08:00 or …Z carry their zone), in UTC."""
    try:
        return as_local(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise typer.BadParameter(
            _("%(text)s is not a time: write e.g. 2026-12-01 18:00 (%(zone)s) or 2026-12-01T18:00+08:00")
            % {"text": repr(text), "zone": zone_label()}
        ) from None


def typed_day(text: str) -> datetime:
    """A day as typed (2026-10-31): the instant that local day begins, in UTC."""
    try:
        return day_start(date.fromisoformat(text.strip()))
    except ValueError:
        raise typer.BadParameter(_("%(text)s is not a day: write e.g. 2026-10-31") % {"text": repr(text)}) from None
