"""`Instant`: a point in time as callers write it, an RFC 3339 date-time with its UTC offset.

Pydantic's own datetime parsing also takes numbers ("0.5" as Unix seconds), bare dates and times without
seconds; none of that is what the OpenAPI `format: date-time` promises, so it is refused here, as is a
time that leaves the calendar once converted to UTC (0001-01-01T00:00:00+01:00).
"""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from schemas.messages import N_

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _written_out(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise ValueError(
        N_(
            "needs a date-time with its UTC offset, e.g. 2026-11-22T09:30:00+08:00 "
            "(not a number, a bare date or a bare time)"
        )
    )


def _representable(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(N_("out of range once converted to UTC")) from None
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_written_out), AfterValidator(_representable)]
