"""The words a person reads for the domain's codes: levels, statuses, roles, kinds. Codes stay in the API's
machine fields and in URLs; everything shown to a person goes through `name()`."""

from enum import StrEnum

from i18n.language import ENGLISH, N_, current, gettext
from schemas.actions import ActionKind
from schemas.calendar import Clock
from schemas.case import BreachKind, EventKind, SuperviseAction
from schemas.domain import Channel, CloseReason, JurisdictionKind, Level, OrgKind, PartyRole, Severity, Status
from schemas.inbox import Expected
from schemas.keys import Role
from schemas.pause import PauseEnd, PauseReason
from schemas.ranking import EntityKind, ListKind
from schemas.registry import ChangeAction, RegistryPart
from schemas.task import TaskRole, TaskStatus

_WORDS: dict[type[StrEnum], dict[StrEnum, str]] = {
    Level: {
        Level.COUNCIL: N_("compound council"),
        Level.COMMUNITY: N_("community"),
        Level.STREET: N_("street"),
        Level.DISTRICT: N_("district"),
    },
    Status: {
        Status.REPORTED: N_("reported"),
        Status.IN_PROGRESS: N_("in progress"),
        Status.RESOLVED: N_("resolved, awaiting the resident's verdict"),
        Status.REOPENED: N_("reopened"),
        Status.CLOSED: N_("closed"),
    },
    Severity: {
        Severity.ORDINARY: N_("ordinary"),
        Severity.MAJOR: N_("major"),
        Severity.COMPLEX: N_("complex"),
    },
    CloseReason: {
        CloseReason.SATISFIED: N_("resident satisfied"),
        CloseReason.UNSATISFIED: N_("resident unsatisfied"),
        CloseReason.NO_FEEDBACK: N_("no verdict given in time"),
        CloseReason.WITHDRAWN: N_("withdrawn by the resident"),
    },
    Channel: {
        Channel.APP: N_("app"),
        Channel.HOTLINE: N_("12345 hotline"),
        Channel.GRID: N_("grid patrol"),
        Channel.WINDOW: N_("one-stop window"),
        Channel.OPEN311: N_("Open311"),
    },
    PartyRole: {
        PartyRole.COMMUNITY_COMMITTEE: N_("community committee"),
        PartyRole.OWNERS_COMMITTEE: N_("owners' committee"),
        PartyRole.PROPERTY_COMPANY: N_("property company"),
    },
    OrgKind: {
        OrgKind.COMMUNITY_COMMITTEE: N_("community committee"),
        OrgKind.OWNERS_COMMITTEE: N_("owners' committee"),
        OrgKind.PROPERTY_COMPANY: N_("property company"),
        OrgKind.STREET_OFFICE: N_("street office"),
        OrgKind.DISTRICT_CENTRE: N_("district command centre"),
        OrgKind.DEPARTMENT: N_("district department"),
    },
    Role: {
        Role.COUNCIL: N_("council party"),
        Role.COMMUNITY: N_("community committee"),
        Role.STREET: N_("street office"),
        Role.DEPARTMENT: N_("district department"),
        Role.SUPERVISOR: N_("district command centre"),
        Role.INTAKE: N_("intake desk"),
        Role.ADMIN: N_("registry administrator"),
    },
    JurisdictionKind: {
        JurisdictionKind.DISTRICT: N_("district"),
        JurisdictionKind.STREET: N_("street"),
        JurisdictionKind.COMMUNITY: N_("community"),
        JurisdictionKind.COMPOUND: N_("compound"),
    },
    RegistryPart: {
        RegistryPart.JURISDICTION: N_("area"),
        RegistryPart.ORGANISATION: N_("organisation"),
        RegistryPart.COUNCIL: N_("compound council"),
        RegistryPart.VOLUNTEER: N_("volunteer"),
        RegistryPart.CATEGORY: N_("category"),
        RegistryPart.ROUTING: N_("routing"),
        RegistryPart.POLICY: N_("SLA policy"),
    },
    ChangeAction: {
        ChangeAction.ADDED: N_("added"),
        ChangeAction.CHANGED: N_("changed"),
        ChangeAction.RETIRED: N_("retired"),
    },
    TaskRole: {
        TaskRole.LEAD: N_("lead"),
        TaskRole.ASSIST: N_("assisting"),
    },
    TaskStatus: {
        TaskStatus.SUMMONED: N_("summoned, to report for duty"),
        TaskStatus.ACCEPTED: N_("reported for duty"),
        TaskStatus.COMPLETED: N_("completed"),
        TaskStatus.RETURNED: N_("returned"),
        TaskStatus.CANCELLED: N_("cancelled"),
    },
    ActionKind: {
        ActionKind.ACCEPT: N_("accept (report for duty)"),
        ActionKind.ARRIVE: N_("record arrival on site"),
        ActionKind.NOTE: N_("add a note"),
        ActionKind.PLAN: N_("present a solution plan"),
        ActionKind.RESOLVE: N_("resolve"),
        ActionKind.SIGNOFF: N_("sign off or object"),
        ActionKind.WHISTLE: N_("whistle to the level above"),
        ActionKind.REQUEST_EXTENSION: N_("ask for an extension"),
        ActionKind.DECIDE_EXTENSION: N_("decide the extension request"),
        ActionKind.REQUEST_PAUSE: N_("ask to pause the clock"),
        ActionKind.DECIDE_PAUSE: N_("decide the pause request"),
        ActionKind.RESUME: N_("resume the clock"),
        ActionKind.SUPERVISE: N_("supervise"),
        ActionKind.DISPATCH: N_("dispatch a volunteer"),
        ActionKind.REROUTE: N_("reroute to departments"),
        ActionKind.CONCLUDE: N_("conclude after a return"),
        ActionKind.COMPLETE: N_("complete with evidence"),
        ActionKind.RETURN: N_("return the task"),
    },
    Expected: {
        Expected.ACCEPT: N_("to accept"),
        Expected.ARRIVE: N_("to arrive on site"),
        Expected.SIGNOFF: N_("to sign off"),
        Expected.AWAIT_SIGNOFF: N_("waiting for the other parties' sign-off"),
        Expected.RESOLVE: N_("to resolve"),
        Expected.REPORT_FOR_DUTY: N_("to report for duty"),
        Expected.COMPLETE: N_("to complete"),
        Expected.DECIDE_EXTENSION: N_("to decide an extension"),
        Expected.DECIDE_PAUSE: N_("to decide a pause"),
        Expected.REROUTE: N_("to reroute after a return"),
        Expected.AWAIT_DEPARTMENTS: N_("waiting for the departments"),
    },
    SuperviseAction: {
        SuperviseAction.URGE: N_("urge"),
        SuperviseAction.ESCALATE: N_("escalate one level"),
    },
    BreachKind: {
        BreachKind.DEADLINE: N_("deadline missed"),
        BreachKind.ARRIVAL: N_("arrival missed"),
    },
    EntityKind: {
        EntityKind.PROPERTY_COMPANY: N_("property companies"),
        EntityKind.DEPARTMENT: N_("district departments"),
    },
    ListKind: {
        ListKind.RED: N_("red list"),
        ListKind.BLACK: N_("black list"),
    },
    EventKind: {
        EventKind.REPORTED: N_("reported"),
        EventKind.ACCEPTED: N_("accepted"),
        EventKind.ARRIVED: N_("arrived on site"),
        EventKind.ARRIVAL_BREACHED: N_("arrival missed"),
        EventKind.NOTE: N_("note"),
        EventKind.PLAN_PRESENTED: N_("plan presented"),
        EventKind.RESOLUTION_PROPOSED: N_("resolution proposed"),
        EventKind.SIGNED_OFF: N_("signed off"),
        EventKind.OBJECTED: N_("objected"),
        EventKind.PROPOSAL_FAILED: N_("proposal failed"),
        EventKind.RESOLVED: N_("resolved"),
        EventKind.WARNING: N_("deadline warning"),
        EventKind.SLA_BREACHED: N_("deadline missed"),
        EventKind.ESCALATED: N_("escalated"),
        EventKind.EXTENSION_REQUESTED: N_("extension requested"),
        EventKind.EXTENSION_APPROVED: N_("extension approved"),
        EventKind.EXTENSION_DENIED: N_("extension denied"),
        EventKind.SUPERVISED: N_("supervised"),
        EventKind.FEEDBACK: N_("resident's verdict"),
        EventKind.REOPENED: N_("reopened"),
        EventKind.WITHDRAWN: N_("withdrawn"),
        EventKind.CLOSED: N_("closed"),
        EventKind.TASK_SUMMONED: N_("department summoned"),
        EventKind.TASK_ACCEPTED: N_("department reported for duty"),
        EventKind.TASK_NOTE: N_("department note"),
        EventKind.TASK_COMPLETED: N_("department completed its task"),
        EventKind.TASK_RETURNED: N_("department returned the task"),
        EventKind.TASK_OVERDUE: N_("department late"),
        EventKind.TASK_EXTENSION_REQUESTED: N_("department asked for more time"),
        EventKind.TASK_EXTENSION_APPROVED: N_("department extension approved"),
        EventKind.TASK_EXTENSION_DENIED: N_("department extension denied"),
        EventKind.TASK_EXTENDED: N_("department extension"),
        EventKind.TASK_CANCELLED: N_("department task cancelled"),
        EventKind.REROUTED: N_("rerouted"),
        EventKind.ALL_RETURNED: N_("every department returned"),
        EventKind.CONCLUDED: N_("concluded on the completed work"),
        EventKind.DISPATCHED: N_("dispatched to a volunteer"),
        EventKind.VOLUNTEER_ACCEPTED: N_("volunteer took the order"),
        EventKind.VOLUNTEER_COMPLETED: N_("volunteer finished the order"),
        EventKind.DUPLICATE_LINKED: N_("same issue reported again"),
        EventKind.PAUSE_REQUESTED: N_("pause requested"),
        EventKind.PAUSED: N_("paused"),
        EventKind.PAUSE_DENIED: N_("pause denied"),
        EventKind.RESUMED: N_("clock running again"),
        EventKind.RESIDENT_ANSWERED: N_("the resident answered"),
        EventKind.TASK_PAUSE_REQUESTED: N_("department asked to pause"),
        EventKind.TASK_PAUSED: N_("department task paused"),
        EventKind.TASK_PAUSE_DENIED: N_("department pause denied"),
        EventKind.TASK_RESUMED: N_("department task running again"),
    },
    PauseReason: {
        PauseReason.RESIDENT: N_("waiting for the resident"),
        PauseReason.THIRD_PARTY: N_("waiting for a third party"),
        PauseReason.WEATHER: N_("the weather"),
        PauseReason.DECISION: N_("waiting for a court or administrative decision"),
    },
    PauseEnd: {
        PauseEnd.HAND: N_("resumed by hand"),
        PauseEnd.UNTIL: N_("its until-date came"),
        PauseEnd.RESIDENT: N_("the resident answered"),
        PauseEnd.MOVED: N_("the case moved on"),
    },
    Clock: {
        Clock.WALL: N_("every hour counts"),
        Clock.WORKING: N_("working hours count"),
    },
}


def name(member: StrEnum | None) -> str:
    """The member's name in the language in force; "–" for nothing."""
    if member is None:
        return "–"
    # keyed by enum first: members of different enums with the same value (Level.COUNCIL, Role.COUNCIL) are equal
    words = _WORDS.get(type(member), {}).get(member)
    return gettext(words) if words else str(member.value)


def named_members() -> list[StrEnum]:
    return [member for words in _WORDS.values() for member in words]


class NameBook:
    """The registry's names of its codes in Chinese and English: who (organisations, volunteers, categories) and
    where (jurisdictions). A street office and its street share a code: `names(code)` is the office,
    `names.place(code)` the street. A code the book does not know reads as itself."""

    def __init__(
        self, names: dict[str, tuple[str, str | None]], places: dict[str, tuple[str, str | None]] | None = None
    ) -> None:
        self._names = names
        self._places = places or {}

    def _pick(self, book: dict[str, tuple[str, str | None]], code: str) -> str:
        chinese, english = book.get(code, (code, None))
        return english if english and current() == ENGLISH else chinese

    def __call__(self, code: str | None) -> str:
        if code is None:
            return "–"
        if code == RESIDENT:
            return gettext(N_("the resident"))
        return self._pick(self._names if code in self._names else self._places, code)

    def place(self, code: str | None) -> str:
        if code is None:
            return "–"
        return self._pick(self._places if code in self._places else self._names, code)


RESIDENT = "resident"  # the actor of the resident's own actions in a timeline
