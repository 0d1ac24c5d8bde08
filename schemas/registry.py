"""Jurisdictions, organisations and the category catalogue, and the context a case resolves at start."""

from pydantic import BaseModel, ConfigDict, Field

from schemas.calendar import WorkCalendar
from schemas.domain import Code, JurisdictionKind, Name, OrgKind, PartyRole, Severity
from schemas.policy import SlaPolicy


class Jurisdiction(BaseModel):
    code: Code
    kind: JurisdictionKind
    name: Name  # Chinese
    name_en: Name | None = None
    parent: Code | None = None


class Organisation(BaseModel):
    code: Code
    kind: OrgKind
    name: Name  # Chinese
    name_en: Name | None = None
    jurisdiction: Code
    duties: str | None = None


class Volunteer(BaseModel):
    """An in-service party member registered with a community (双报到) who takes residents' orders."""

    code: Code
    community: Code
    name: Name
    name_en: Name | None = None
    employer: str | None = None
    points: int = 0


class CompoundParties(BaseModel):
    """Who sits on a compound's three-party council."""

    compound: Code
    community_committee: Code
    owners_committee: Code
    property_company: Code


class Routing(BaseModel):
    """The departments a category summons at DISTRICT by default: one lead (主办), assistants (协办)."""

    model_config = ConfigDict(frozen=True)

    lead: Code
    assist: list[Code] = Field(default_factory=list, max_length=8)


class Category(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: Code
    name: Name
    name_en: Name
    default_severity: Severity
    needs_arrival: bool
    anonymous_allowed: bool = True
    deduplicate: bool = True
    routing: Routing
    keywords: list[str] = Field(default_factory=list)


class CaseContext(BaseModel):
    """Everything a case needs from the registry, resolved once by the first activity and kept."""

    model_config = ConfigDict(frozen=True)

    district: Code
    street: Code
    community: Code
    compound: Code
    council: dict[PartyRole, Code]
    community_org: Code
    street_org: Code
    district_org: Code  # district command centre: owns DISTRICT, supervises
    departments: list[Code]  # the district's member units that can be summoned
    category: Category
    policy: SlaPolicy
    calendar: WorkCalendar | None = None  # the city's; None in cases started before calendars
    calendars: dict[Code, WorkCalendar] = Field(default_factory=dict)  # organisations that name their own

    def calendar_of(self, org: Code) -> WorkCalendar:
        """The calendar `org` counts working time by: its own, else the city's, else the plain working week."""
        return self.calendars.get(org) or self.calendar or WorkCalendar()


class ContextRequest(BaseModel):
    compound: Code
    category: Code
    policy: Code = "default"


class VolunteerCredit(BaseModel):
    case_id: str
    volunteer: Code
    points: int
