"""A case's timeline as sentences a person reads: "东风街道办事处吹哨，召集区城管执法局（主办）、区规自分局（协办）".

`Names` resolves a code (organisation, category, volunteer, jurisdiction) to its name in the language in
force; the caller reads it from the registry.
"""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from i18n.language import _
from i18n.names import name
from i18n.spans import span
from i18n.zone import moment_text
from schemas.case import OWN_SUMMARIES, EventKind, SuperviseAction, TimelineEvent
from schemas.domain import Channel, CloseReason, Level, PartyRole, Severity
from schemas.pause import PauseEnd, PauseReason
from schemas.task import TaskRole

Names = Callable[[str], str]


class Line(BaseModel):
    """One sentence of the timeline; `seqs` are the events it tells (a whistle and its summons are one)."""

    seqs: list[int]
    at: datetime
    level: Level
    sentence: str


def _when(value: Any) -> str:
    if value is None:
        return "–"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment_text(moment)


def _with(text: str, extra: str | None) -> str:
    return _("%(text)s: %(extra)s") % {"text": text, "extra": extra} if extra else text


def _summoning(text: str, summoned: str | None) -> str:
    return _("%(text)s, summoning %(summoned)s") % {"text": text, "summoned": summoned} if summoned else text


def _summoned(events: Iterable[TimelineEvent], names: Names) -> str:
    return _(", ").join(
        _("%(department)s (%(role)s)")
        % {"department": names(e.details["department"]), "role": name(TaskRole(e.details["role"]))}
        for e in events
    )


def _sentence(event: TimelineEvent, names: Names, summoned: str | None = None) -> str:  # noqa: C901 - one branch per kind of event
    d = event.details
    who = names(event.actor) if event.actor else ""
    if d.get("person"):
        who = _("%(org)s (%(person)s)") % {"org": who, "person": d["person"]}
    kind = event.kind
    if kind is EventKind.REPORTED:
        return _("Reported through %(channel)s: %(category)s, %(severity)s") % {
            "channel": name(Channel(d["channel"])),
            "category": names(d["category"]),
            "severity": name(Severity(d["severity"])),
        }
    if kind is EventKind.ACCEPTED:
        return _("%(who)s accepted the case") % {"who": who}
    if kind is EventKind.ARRIVED:
        text = _("%(who)s arrived on site") if d.get("on_time", True) else _("%(who)s arrived on site, late")
        return _with(text % {"who": who}, d.get("note"))
    if kind is EventKind.ARRIVAL_BREACHED:
        return _("%(late)s did not arrive on site by %(due)s") % {"late": names(d["against"]), "due": _when(d["due"])}
    if kind is EventKind.SLA_BREACHED:
        return _("%(late)s missed the deadline of %(due)s") % {"late": names(d["against"]), "due": _when(d["due"])}
    if kind in (EventKind.NOTE, EventKind.TASK_NOTE):
        return _with(_("%(who)s noted") % {"who": who}, d.get("text"))
    if kind is EventKind.PLAN_PRESENTED:
        return _with(
            _("%(who)s presented a plan, done by %(due)s") % {"who": who, "due": _when(d["due_at"])}, d["summary"]
        )
    if kind is EventKind.RESOLUTION_PROPOSED:
        return _with(_("%(who)s proposed a resolution for the council to sign off") % {"who": who}, d["summary"])
    if kind in (EventKind.SIGNED_OFF, EventKind.OBJECTED):
        text = (
            _("%(who)s (%(party)s) signed off") if kind is EventKind.SIGNED_OFF else _("%(who)s (%(party)s) objected")
        )
        return _with(text % {"who": who, "party": name(PartyRole(d["party"]))}, d.get("comment"))
    if kind is EventKind.PROPOSAL_FAILED:
        return _("The proposal failed: %(objections)s parties objected, %(quorum)s must sign off") % d
    if kind is EventKind.RESOLVED:
        return _with(
            _("%(who)s resolved the case; the resident's verdict is due by %(due)s")
            % {"who": who, "due": _when(d.get("feedback_due"))},
            _(d["summary"]) if d.get("summary") in OWN_SUMMARIES else d.get("summary"),
        )
    if kind is EventKind.WARNING:
        return _("Deadline warning: %(owner)s must finish by %(deadline)s") % {
            "owner": names(d["owner"]),
            "deadline": _when(d["deadline"]),
        }
    if kind is EventKind.ESCALATED:
        levels = {"who": who, "from": name(Level(d["from"])), "to": name(Level(d["to"]))}
        if d.get("automatic"):
            text = _("Not solved in time at the %(from)s level: the case climbs to the %(to)s level") % levels
            return _summoning(text, summoned)
        text = _("%(who)s blew the whistle: the case climbs from the %(from)s level to the %(to)s level") % levels
        return _with(_summoning(text, summoned), d.get("reason"))
    if kind in (EventKind.EXTENSION_REQUESTED, EventKind.TASK_EXTENSION_REQUESTED):
        until = d.get("until") or d.get("requested_until")
        return _with(
            _("%(who)s asked for more time, until %(until)s") % {"who": who, "until": _when(until)}, d.get("reason")
        )
    if kind is EventKind.EXTENSION_APPROVED:
        return _with(
            _("%(who)s approved the extension until %(until)s") % {"who": who, "until": _when(d["until"])},
            d.get("reason"),
        )
    if kind is EventKind.EXTENSION_DENIED:
        return _with(_("%(who)s denied the extension") % {"who": who}, d.get("reason"))
    if kind is EventKind.TASK_EXTENSION_APPROVED:
        return _with(
            _("%(who)s approved %(department)s's extension until %(until)s")
            % {"who": who, "department": names(d["department"]), "until": _when(d.get("until"))},
            d.get("reason"),
        )
    if kind is EventKind.TASK_EXTENSION_DENIED:
        return _with(
            _("%(who)s denied %(department)s's extension") % {"who": who, "department": names(d["department"])},
            d.get("reason"),
        )
    if kind is EventKind.TASK_EXTENDED:
        return _with(_("Extension of %(department)s's task") % {"department": names(d["department"])}, d.get("reason"))
    if kind is EventKind.SUPERVISED:
        text = (
            _("%(who)s ordered the case one level up")
            if d.get("action") == SuperviseAction.ESCALATE
            else _("%(who)s urged the case on (supervision)")
        )
        return _with(text % {"who": who}, d.get("reason"))
    if kind is EventKind.FEEDBACK:
        text = (
            _("The resident is satisfied (%(score)s of 5)")
            if d.get("satisfied")
            else _("The resident is not satisfied (%(score)s of 5)")
        )
        return _with(text % {"score": d.get("score")}, d.get("comment"))
    if kind is EventKind.REOPENED:
        return _("The case is handled again at the %(level)s level") % {"level": name(Level(d["level"]))}
    if kind is EventKind.WITHDRAWN:
        return _with(_("The resident withdrew the case"), d.get("reason"))
    if kind is EventKind.CLOSED:
        return _("Closed: %(reason)s") % {"reason": name(CloseReason(d["reason"]))}
    if kind is EventKind.TASK_SUMMONED:
        return _("%(who)s summoned %(summoned)s") % {"who": who, "summoned": _summoned([event], names)}
    if kind is EventKind.TASK_ACCEPTED:
        return _("%(who)s reported for duty") % {"who": who}
    if kind is EventKind.TASK_COMPLETED:
        return _with(_("%(who)s completed its task") % {"who": who}, d.get("result"))
    if kind is EventKind.TASK_RETURNED:
        return _with(_("%(who)s returned the task") % {"who": who}, d.get("reason"))
    if kind is EventKind.TASK_OVERDUE:
        text = (
            _("%(department)s did not report for duty by %(due)s")
            if d.get("phase") == "accept"
            else _("%(department)s did not complete its task by %(due)s")
        )
        text = text % {"department": names(d["department"]), "due": _when(d.get("due"))}
        return text if not d.get("reminder") else _("%(text)s (reminder %(n)s)") % {"text": text, "n": d["reminder"]}
    if kind is EventKind.TASK_CANCELLED:
        return _with(
            _("The task of %(department)s was cancelled") % {"department": names(d["department"])}, d.get("reason")
        )
    if kind is EventKind.REROUTED:
        text = _("%(who)s sent the returned case to other departments") % {"who": who}
        return _with(_summoning(text, summoned), d.get("reason"))
    if kind is EventKind.ALL_RETURNED:
        return _("Every summoned department returned its task: the street decides what happens next")
    if kind is EventKind.CONCLUDED:
        return _with(_("%(who)s concluded on the work the departments completed") % {"who": who}, d.get("reason"))
    if kind is EventKind.DISPATCHED:
        return _("%(who)s dispatched the order to volunteer %(volunteer)s") % {
            "who": who,
            "volunteer": names(d["volunteer"]),
        }
    if kind is EventKind.VOLUNTEER_ACCEPTED:
        return _("Volunteer %(who)s took the order") % {"who": who}
    if kind is EventKind.VOLUNTEER_COMPLETED:
        return _with(_("Volunteer %(who)s finished the order") % {"who": who}, d.get("text"))
    if kind in (EventKind.PAUSE_REQUESTED, EventKind.TASK_PAUSE_REQUESTED):
        cause = name(PauseReason(d["reason"]))
        text = (
            _("%(who)s asked to stop the clock (%(cause)s) until %(until)s")
            % {"who": who, "cause": cause, "until": _when(d["until"])}
            if d.get("until")
            else _("%(who)s asked to stop the clock (%(cause)s)") % {"who": who, "cause": cause}
        )
        return _with(text, d.get("note"))
    if kind in (EventKind.PAUSED, EventKind.TASK_PAUSED):
        return _with(_("%(who)s approved the pause: the clock stands still") % {"who": who}, d.get("reason"))
    if kind in (EventKind.PAUSE_DENIED, EventKind.TASK_PAUSE_DENIED):
        return _with(_("%(who)s denied the pause") % {"who": who}, d.get("reason"))
    if kind in (EventKind.RESUMED, EventKind.TASK_RESUMED):
        return _with(
            _("The clock runs again (%(end)s) after standing still for %(span)s; due %(due)s")
            % {
                "end": name(PauseEnd(d["end"])),
                "span": span(timedelta(seconds=d.get("paused_seconds", 0))),
                "due": _when(d.get("deadline") or d.get("due")),
            },
            d.get("note"),
        )
    if kind is EventKind.RESIDENT_ANSWERED:
        return _with(_("The resident answered"), d.get("text"))
    if kind is EventKind.DUPLICATE_LINKED:
        return _("The same issue was reported again through %(channel)s; that resident follows this case") % {
            "channel": name(Channel(d["channel"]))
        }
    return name(kind)


def _opens_summons(event: TimelineEvent) -> bool:
    return event.kind is EventKind.REROUTED or (
        event.kind is EventKind.ESCALATED and event.details.get("to") == Level.DISTRICT
    )


def narrate(timeline: Iterable[TimelineEvent], names: Names) -> list[Line]:
    """The timeline as sentences, oldest first. A whistle to DISTRICT (or a reroute) and the summons it
    makes are one sentence: "东风街道办事处吹哨，召集区城管执法局（主办）、区规自分局（协办）"."""
    lines: list[Line] = []
    events = list(timeline)
    i = 0
    while i < len(events):
        event = events[i]
        summons = []
        if _opens_summons(event):
            j = i + 1
            while j < len(events) and events[j].kind is EventKind.TASK_SUMMONED and events[j].at == event.at:
                summons.append(events[j])
                j += 1
        sentence = _sentence(event, names, _summoned(summons, names) if summons else None)
        lines.append(
            Line(seqs=[event.seq, *(e.seq for e in summons)], at=event.at, level=event.level, sentence=sentence)
        )
        i += 1 + len(summons)
    return lines
