"""The notification outbox: who must hear about which case event, written with the case projection.

`enqueue` runs inside the projection's transaction, so an event and its notifications commit together,
and (case_id, seq, recipient) keys every row, so a retried projection adds nothing. Recipients:

| event                                 | organisations                                | resident            |
|---------------------------------------|----------------------------------------------|---------------------|
| REPORTED                              | the three council parties (new case)         | REPORTED (received) |
| ESCALATED, REOPENED                   | the owner of the level the case moves to     | same topic          |
| WARNING                               | the level's owner                            |                     |
| SLA_BREACHED, ARRIVAL_BREACHED        | the late party and the district centre       |                     |
| RESOLUTION_PROPOSED                   | the other council parties (sign-off)         |                     |
| EXTENSION_REQUESTED                   | the decider                                  |                     |
| EXTENSION_APPROVED / _DENIED          | the level's owner                            |                     |
| SUPERVISED                            | the parties it is recorded against           |                     |
| TASK_SUMMONED                         | the department                               |                     |
| TASK_OVERDUE                          | the department and the district centre       |                     |
| TASK_CANCELLED                        | the department                               |                     |
| TASK_EXTENSION_REQUESTED              | the decider (the district centre)            |                     |
| TASK_EXTENSION_APPROVED / _DENIED     | the department                               |                     |
| TASK_RETURNED                         | the street office (it reroutes or concludes) |                     |
| ALL_RETURNED                          | the district centre                          |                     |
| DISPATCHED                            | the volunteer                                |                     |
| DUPLICATE_LINKED                      | the level's owner                            |                     |
| RESOLVED                              |                                              | FEEDBACK_REQUESTED  |
| CLOSED                                | the level's owner                            | CLOSED              |

The resident is addressed by case (`resident:<case_id>`, followers of linked duplicates included):
their name and phone stay in the workflow and are never written here. What the resident is told is written
for them, in the deployment's language (Chinese by default), short enough for one SMS (`RESIDENT_TEXT`
characters), with `link`, the case's page (`WHISTLE_PUBLIC_URL` before it; the page opens on the phone that
followed the private link once, and shows nothing to anyone else).
"""

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from activities import registry
from i18n.language import _, current, default_language, speaking
from i18n.names import NameBook, name
from i18n.offsets import on_local_clock
from i18n.timeline import narrate
from i18n.zone import moment_text
from schemas.case import CaseProjection, CaseSummary, EventKind, TimelineEvent
from schemas.domain import CloseReason, Level

RESIDENT = "resident"
FEEDBACK_REQUESTED = "FEEDBACK_REQUESTED"
# Event details that may carry what a resident typed or who they are: never sent on.
_PRIVATE_DETAILS = {"reporter", "comment", "text"}


RESIDENT_TEXT = 70  # characters: one SMS
PUBLIC_URL = "WHISTLE_PUBLIC_URL"  # where residents reach the pages (the API's settings read it too)


def resident_address(case_id: str) -> str:
    return f"{RESIDENT}:{case_id}"


def follow_link(case_id: str) -> str:
    return f"{(os.environ.get(PUBLIC_URL) or '').rstrip('/')}/resident/cases/{case_id}"


class Notification(BaseModel):
    case_id: str
    seq: int
    recipient: str
    topic: str
    level: Level
    occurred_at: datetime
    payload: dict[str, Any]  # text, details, case: what the receiver is told

    @property
    def id(self) -> str:
        """Stable across retries and resends: receivers deduplicate on it."""
        return f"{self.case_id}:{self.seq}:{self.recipient}"

    def body(self) -> dict[str, Any]:
        """What the receiver gets: the machine fields (codes, times in ISO 8601 with the deployment's offset)
        and `text`, the line a person reads."""
        return on_local_clock(
            {
                "id": self.id,
                "case_id": self.case_id,
                "seq": self.seq,
                "recipient": self.recipient,
                "topic": self.topic,
                "level": self.level,
                "at": self.occurred_at,
                **self.payload,
            }
        )


class OutboxEntry(Notification):
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    channel: str | None


class Parties(BaseModel):
    """Who is who around one compound, from the registry."""

    council: list[str]  # community committee, owners' committee, property company (those the compound has)
    owner: dict[Level, str]
    street: str
    centre: str


async def _parties(connection: asyncpg.Connection, summary: CaseSummary) -> Parties:
    row = await connection.fetchrow(
        """SELECT p.community_committee, p.owners_committee, p.property_company, p.council_owner,
                  (SELECT o.code FROM organisations o
                    WHERE o.jurisdiction = $2 AND o.kind = 'DISTRICT_CENTRE' LIMIT 1) AS centre
             FROM compound_parties p WHERE p.compound = $1""",
        summary.compound,
        summary.district,
    )
    centre = row["centre"]
    return Parties(
        council=[
            party for party in (row["community_committee"], row["owners_committee"], row["property_company"]) if party
        ],
        owner={
            Level.COUNCIL: row["council_owner"],
            Level.COMMUNITY: summary.community,
            Level.STREET: summary.street,
            Level.DISTRICT: centre,
        },
        street=summary.street,
        centre=centre,
    )


Rule = Callable[[TimelineEvent, Parties], list[str]]


def _owner(event: TimelineEvent, parties: Parties) -> list[str]:
    return [parties.owner[event.level]]


def _moved_to(event: TimelineEvent, parties: Parties) -> list[str]:
    return [parties.owner[Level(event.details.get("to") or event.details["level"])]]


def _late_party(event: TimelineEvent, parties: Parties) -> list[str]:
    return [event.details["against"], parties.centre]


def _department(event: TimelineEvent, parties: Parties) -> list[str]:
    return [event.details["department"]]


_ORGANISATIONS: dict[EventKind, Rule] = {
    EventKind.REPORTED: lambda event, parties: parties.council,
    EventKind.ESCALATED: _moved_to,
    EventKind.REOPENED: _moved_to,
    EventKind.WARNING: lambda event, parties: [event.details["owner"]],
    EventKind.SLA_BREACHED: _late_party,
    EventKind.ARRIVAL_BREACHED: _late_party,
    EventKind.RESOLUTION_PROPOSED: lambda event, parties: [org for org in parties.council if org != event.actor],
    EventKind.EXTENSION_REQUESTED: lambda event, parties: [event.details["decider"]],
    EventKind.EXTENSION_APPROVED: _owner,
    EventKind.EXTENSION_DENIED: _owner,
    EventKind.SUPERVISED: lambda event, parties: list(event.details["against"]),
    EventKind.TASK_SUMMONED: _department,
    EventKind.TASK_OVERDUE: lambda event, parties: [event.details["department"], parties.centre],
    EventKind.TASK_CANCELLED: _department,
    EventKind.TASK_EXTENSION_REQUESTED: lambda event, parties: [event.details["decider"]],
    EventKind.TASK_EXTENSION_APPROVED: _department,
    EventKind.TASK_EXTENSION_DENIED: _department,
    EventKind.TASK_RETURNED: lambda event, parties: [parties.street],
    EventKind.ALL_RETURNED: lambda event, parties: [parties.centre],
    EventKind.DISPATCHED: lambda event, parties: [event.details["volunteer"]],
    EventKind.DUPLICATE_LINKED: _owner,
    EventKind.CLOSED: _owner,
}
_RESIDENT_TOPICS: dict[EventKind, str] = {
    EventKind.REPORTED: EventKind.REPORTED,
    EventKind.ESCALATED: EventKind.ESCALATED,
    EventKind.REOPENED: EventKind.REOPENED,
    EventKind.RESOLVED: FEEDBACK_REQUESTED,
    EventKind.CLOSED: EventKind.CLOSED,
}


def _public(event: TimelineEvent) -> TimelineEvent:
    """The event without the details that may carry what a resident typed or who they are."""
    return event.model_copy(update={"details": {k: v for k, v in event.details.items() if k not in _PRIVATE_DETAILS}})


def resident_text(event: TimelineEvent, projection: CaseProjection, names: NameBook) -> str:
    """The resident's one line: 您反映的楼道杂物已受理（WH-20261124-000001），小区三方将于11月24日 14:55前处理。
    The deadline is the one of the level the event entered (a projection may carry later events too)."""
    d, summary = event.details, projection.summary
    about = {"category": names(summary.category), "case": summary.case_id}
    stages = projection.view.stages if projection.view is not None else []
    deadline = next((stage.deadline for stage in reversed(stages) if stage.entered_at == event.at), summary.deadline)
    due = moment_text(deadline) if deadline else "–"
    if event.kind is EventKind.REPORTED:
        return _("Your report of %(category)s is received (%(case)s); the compound council handles it by %(due)s.") % {
            **about,
            "due": due,
        }
    if event.kind is EventKind.ESCALATED:
        return _("Your report of %(category)s (%(case)s) went up to the %(level)s, to handle by %(due)s.") % {
            **about,
            "level": name(Level(d["to"])),
            "due": due,
        }
    if event.kind is EventKind.REOPENED:
        return _("Your report of %(category)s (%(case)s) is handled again, by %(due)s.") % {**about, "due": due}
    if event.kind is EventKind.RESOLVED:
        feedback_due = datetime.fromisoformat(d["feedback_due"]) if d.get("feedback_due") else None
        return _("Your report of %(category)s (%(case)s) is resolved: give your verdict by %(due)s.") % {
            **about,
            "due": moment_text(feedback_due) if feedback_due else "–",
        }
    return _("Your report of %(category)s (%(case)s) is closed: %(reason)s.") % {
        **about,
        "reason": name(CloseReason(d["reason"])),
    }


def organisation_text(event: TimelineEvent, summary: CaseSummary, names: NameBook) -> str:
    """One line for the organisations told: which case, then what happened, as the timeline says it."""
    about = _("%(case)s (%(category)s, %(compound)s)") % {
        "case": summary.case_id,
        "category": names(summary.category),
        "compound": names(summary.compound),
    }
    if event.kind is EventKind.REPORTED:
        return _("New case %(about)s: the compound's three-party council takes it first") % {"about": about}
    [line] = narrate([_public(event)], names)
    return _("%(about)s: %(sentence)s") % {"about": about, "sentence": line.sentence}


def _codes(projection: CaseProjection) -> set[str]:
    """Every code the projection's notifications may name (a few other words besides, which name nothing)."""
    found = {projection.summary.category, projection.summary.compound}
    for event in projection.events:
        found.update([event.actor] if event.actor else [])
        for value in event.details.values():
            found.update(item for item in (value if isinstance(value, list) else [value]) if isinstance(item, str))
    return found


def notifications_for(projection: CaseProjection, parties: Parties | None, names: NameBook) -> list[Notification]:
    """Every notification the projection's new events call for (`parties` may be None if none needs it), its
    text in the language in force (the deployment's, WHISTLE_LANG: recipients keep no preference)."""
    summary = projection.summary
    case = {
        "status": summary.status,
        "level": summary.level,
        "owner": summary.owner,
        "category": summary.category,
        "compound": summary.compound,
        "deadline": summary.deadline.isoformat() if summary.deadline else None,
    }
    found: list[Notification] = []
    for event in projection.events:
        addressed: dict[str, str] = {}
        rule = _ORGANISATIONS.get(event.kind)
        if rule is not None and parties is not None:
            addressed.update(dict.fromkeys(rule(event, parties), str(event.kind)))
        if event.kind in _RESIDENT_TOPICS:
            addressed[resident_address(summary.case_id)] = str(_RESIDENT_TOPICS[event.kind])
        if not addressed:
            continue
        details = _public(event).model_dump(mode="json")["details"]
        payload = {"event": event.kind, "actor": event.actor, "details": details, "case": case, "language": current()}
        resident = resident_address(summary.case_id)
        to_resident = resident_text(event, projection, names) if resident in addressed else None
        to_organisations = organisation_text(event, summary, names) if set(addressed) - {resident} else None
        found += [
            Notification(
                case_id=summary.case_id,
                seq=event.seq,
                recipient=recipient,
                topic=topic,
                level=event.level,
                occurred_at=event.at,
                payload=(
                    {**payload, "text": to_resident, "link": follow_link(summary.case_id)}
                    if recipient == resident
                    else {**payload, "text": to_organisations}
                ),
            )
            for recipient, topic in addressed.items()
        ]
    return found


_INSERT = """
    INSERT INTO notifications (case_id, seq, recipient, topic, level, occurred_at, payload)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (case_id, seq, recipient) DO NOTHING
"""


async def enqueue(connection: asyncpg.Connection, projection: CaseProjection) -> int:
    """Write the projection's notifications on `connection` (inside its transaction); returns how many."""
    needs_parties = any(event.kind in _ORGANISATIONS for event in projection.events)
    if not needs_parties and not any(event.kind in _RESIDENT_TOPICS for event in projection.events):
        return 0
    parties = await _parties(connection, projection.summary) if needs_parties else None
    names = await registry.name_book(connection, _codes(projection))
    with speaking(default_language()):  # the deployment's, whatever the process (a CLI's locale) speaks
        found = notifications_for(projection, parties, names)
    await connection.executemany(
        _INSERT,
        [(n.case_id, n.seq, n.recipient, n.topic, n.level, n.occurred_at, n.payload) for n in found],
    )
    return len(found)


async def outbox(
    connection: asyncpg.Connection, *, case_id: str | None = None, failed: bool = False, limit: int = 100
) -> list[OutboxEntry]:
    """The outbox newest first; `failed`: undelivered rows whose last attempt failed."""
    rows = await connection.fetch(
        """SELECT * FROM notifications
            WHERE ($1::text IS NULL OR case_id = $1)
              AND (NOT $2 OR (delivered_at IS NULL AND last_error IS NOT NULL))
            ORDER BY created_at DESC, case_id, seq DESC, recipient
            LIMIT $3""",
        case_id,
        failed,
        limit,
    )
    return [OutboxEntry(**dict(row)) for row in rows]
