"""The domain vocabulary: levels of the escalation ladder, severities, statuses, channels."""

from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints


class Level(StrEnum):
    """Rungs of the ladder, lowest first."""

    COUNCIL = "COUNCIL"  # 三方联动: community committee + owners' committee + property company
    COMMUNITY = "COMMUNITY"  # 社区
    STREET = "STREET"  # 街道
    DISTRICT = "DISTRICT"  # 区直部门

    @property
    def above(self) -> "Level | None":
        order = list(Level)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


class Severity(StrEnum):
    ORDINARY = "ORDINARY"  # 一般
    MAJOR = "MAJOR"  # 重大
    COMPLEX = "COMPLEX"  # 特殊复杂: needs a solution plan first


class Status(StrEnum):
    REPORTED = "REPORTED"  # waiting for the level's owner to report for duty
    IN_PROGRESS = "IN_PROGRESS"
    RESOLVED = "RESOLVED"  # waiting for the resident's feedback
    REOPENED = "REOPENED"  # resident unsatisfied; waiting for the owner again
    CLOSED = "CLOSED"

    @property
    def is_open(self) -> bool:
        return self in (Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED)


class CloseReason(StrEnum):
    SATISFIED = "SATISFIED"
    UNSATISFIED = "UNSATISFIED"  # resolved at the top level and still unsatisfied: closed, counted as such
    NO_FEEDBACK = "NO_FEEDBACK"
    WITHDRAWN = "WITHDRAWN"


class Channel(StrEnum):
    APP = "APP"  # resident app / web
    HOTLINE = "HOTLINE"  # 12345 ticket, carries an external id
    GRID = "GRID"  # grid patrol 网格巡查
    WINDOW = "WINDOW"  # one-stop window 一站式窗口
    OPEN311 = "OPEN311"


class PartyRole(StrEnum):
    """The three parties of the compound council (三方)."""

    COMMUNITY_COMMITTEE = "COMMUNITY_COMMITTEE"
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"
    PROPERTY_COMPANY = "PROPERTY_COMPANY"


class OrgKind(StrEnum):
    COMMUNITY_COMMITTEE = "COMMUNITY_COMMITTEE"  # also the community level's owner
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"
    PROPERTY_COMPANY = "PROPERTY_COMPANY"
    STREET_OFFICE = "STREET_OFFICE"
    DISTRICT_CENTRE = "DISTRICT_CENTRE"  # district command centre: owns DISTRICT, supervises (督办)
    DEPARTMENT = "DEPARTMENT"


class JurisdictionKind(StrEnum):
    DISTRICT = "DISTRICT"
    STREET = "STREET"
    COMMUNITY = "COMMUNITY"
    COMPOUND = "COMPOUND"


Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")]
"""Identifier of a jurisdiction, organisation, category or department."""

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: such input would never reach the read model
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000, pattern=NO_NUL)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)]
