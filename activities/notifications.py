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

from i18n.language import _
from i18n.names import NameBook, name
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
        return {
            "id": self.id,
            "case_id": self.case_id,
            "seq": self.seq,
            "recipient": self.recipient,
            "topic": self.topic,
            "level": self.level,
            "at": self.occurred_at.isoformat(),
            **self.payload,
        }


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


def _text(event: TimelineEvent, summary: CaseSummary) -> str:
    """One line a person can read; the details travel alongside."""
    d = event.details
    about = f"case {summary.case_id} ({summary.category}, {summary.compound})"
    lines = {
        EventKind.REPORTED: f"new {about} at COUNCIL",
        EventKind.ESCALATED: f"{about} escalated from {d.get('from')} to {d.get('to')}: {d.get('reason')}",
        EventKind.REOPENED: f"{about} reopened at {d.get('level')}: the resident is not satisfied",
        EventKind.WARNING: f"{about} is due at {d.get('deadline')}",
        EventKind.SLA_BREACHED: f"{about} missed its deadline {d.get('due')}, recorded against {d.get('against')}",
        EventKind.ARRIVAL_BREACHED: f"{about}: nobody on site by {d.get('due')}, recorded against {d.get('against')}",
        EventKind.RESOLUTION_PROPOSED: f"{about}: {event.actor} proposes a resolution; sign-off needed",
        EventKind.EXTENSION_REQUESTED: f"{about}: {event.actor} asks to extend to {d.get('until')}",
        EventKind.EXTENSION_APPROVED: f"{about}: extension to {d.get('until')} approved",
        EventKind.EXTENSION_DENIED: f"{about}: extension denied",
        EventKind.SUPERVISED: f"{about}: supervision ({d.get('action')}) by {event.actor}: {d.get('reason')}",
        EventKind.TASK_SUMMONED: f"{about}: {d.get('department')} summoned ({d.get('role')})",
        EventKind.TASK_OVERDUE: f"{about}: {d.get('department')} is overdue ({d.get('phase')} by {d.get('due')})",
        EventKind.TASK_CANCELLED: f"{about}: the task of {d.get('department')} is cancelled",
        EventKind.TASK_EXTENSION_REQUESTED: (
            f"{about}: {d.get('department')} asks to extend its task to {d.get('requested_until')}"
        ),
        EventKind.TASK_EXTENSION_APPROVED: f"{about}: {d.get('department')}'s extension to {d.get('until')} approved",
        EventKind.TASK_EXTENSION_DENIED: f"{about}: {d.get('department')}'s extension denied",
        EventKind.TASK_RETURNED: (
            f"{about}: {d.get('department')} returned the task; reroute it or conclude on the completed work"
        ),
        EventKind.ALL_RETURNED: f"{about}: every department returned the task",
        EventKind.DISPATCHED: f"{about}: dispatched to volunteer {d.get('volunteer')}",
        EventKind.DUPLICATE_LINKED: f"{about}: another report of the same issue ({d.get('reporters')} reporters)",
        EventKind.RESOLVED: f"{about} resolved; please give your feedback by {d.get('feedback_due')}",
        EventKind.CLOSED: f"{about} closed ({d.get('reason')})",
    }
    return lines[event.kind]


def _resident_text(event: TimelineEvent, summary: CaseSummary, names: NameBook) -> str:
    """The resident's one line: 您反映的楼道杂物已受理（WH-20261124-000001），小区三方将于11月24日 14:55前处理。"""
    d = event.details
    about = {"category": names(summary.category), "case": summary.case_id}
    due = moment_text(summary.deadline) if summary.deadline else "–"
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


def notifications_for(
    projection: CaseProjection, parties: Parties | None, names: NameBook | None = None
) -> list[Notification]:
    """Every notification the projection's new events call for (`parties` may be None if none needs it;
    `names` names the category to the resident)."""
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
        to_resident = event.kind in _RESIDENT_TOPICS
        if not addressed and not to_resident:
            continue
        details = {k: v for k, v in event.model_dump(mode="json")["details"].items() if k not in _PRIVATE_DETAILS}
        payload = {"event": event.kind, "text": _text(event, summary), "details": details, "case": case}
        recipients = [(recipient, topic, payload) for recipient, topic in addressed.items()]
        if to_resident:
            text = _resident_text(event, summary, names or NameBook({}))
            told = {**payload, "text": text, "link": follow_link(summary.case_id)}
            recipients.append((resident_address(summary.case_id), str(_RESIDENT_TOPICS[event.kind]), told))
        found += [
            Notification(
                case_id=summary.case_id,
                seq=event.seq,
                recipient=recipient,
                topic=topic,
                level=event.level,
                occurred_at=event.at,
                payload=told,
            )
            for recipient, topic, told in recipients
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
    parties = await _parties(connection, projection.summary) if needs_parties else None
    names = None
    if any(event.kind in _RESIDENT_TOPICS for event in projection.events):
        category = await connection.fetchrow(
            "SELECT definition->>'name' AS name, definition->>'name_en' AS name_en FROM categories WHERE code = $1",
            projection.summary.category,
        )
        names = NameBook({projection.summary.category: (category["name"], category["name_en"])} if category else {})
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
