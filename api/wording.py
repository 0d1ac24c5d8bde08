"""How a message reads for a person: its English template translated into the language in force, each
parameter said as a person reads it (organisations by name, levels and statuses in words, times on the
deployment's clock). The parameter names are the ones `schemas.messages.PARAMETERS` fixes; any other is
shown as it is (a case id, a field, a technical reason)."""

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter

from i18n.language import gettext
from i18n.names import NameBook, name
from i18n.spans import span
from i18n.zone import moment_text
from schemas.domain import Channel, CloseReason, Level, OrgKind, PartyRole, Severity, Status
from schemas.keys import Role
from schemas.messages import Message
from schemas.task import TaskStatus

_MOMENT = TypeAdapter(datetime)
_DURATION = TypeAdapter(timedelta)

Say = Callable[[Any, NameBook], str]


def _named(value: Any, names: NameBook) -> str:
    return names(str(value))


def _listed(value: Any, names: NameBook) -> str:
    return gettext(", ").join(names(str(code)) for code in value)


def _members(enum: type[StrEnum]) -> Say:
    def say(value: Any, names: NameBook) -> str:
        return gettext(", ").join(_member(enum)(member, names) for member in value)

    return say


def _member(enum: type[StrEnum]) -> Say:
    def say(value: Any, names: NameBook) -> str:
        try:
            return name(enum(value))
        except ValueError:
            return str(value)

    return say


def _phrase(value: Any, names: NameBook) -> str:
    return gettext(str(value))


def _moment(value: Any, names: NameBook) -> str:
    return moment_text(_MOMENT.validate_python(value))


def _duration(value: Any, names: NameBook) -> str:
    return span(_DURATION.validate_python(value))


_SAY: dict[str, Say] = {
    "org": _named,
    "owner": _named,
    "decider": _named,
    "street": _named,
    "community": _named,
    "volunteer": _named,
    "district": _named,
    "category": _named,
    "orgs": _listed,
    "level": _member(Level),
    "status": _member(Status),
    "task_status": _member(TaskStatus),
    "close_reason": _member(CloseReason),
    "severity": _member(Severity),
    "party": _member(PartyRole),
    "role": _member(Role),
    "roles": _members(Role),
    "org_kind": _member(OrgKind),
    "org_kinds": _members(OrgKind),
    "channel": _member(Channel),
    "key_channel": _member(Channel),
    "action": _phrase,
    "dependency": _phrase,
    "deadline": _moment,
    "at": _moment,
    "cap": _duration,
}

NAMED = frozenset(key for key, say in _SAY.items() if say in (_named, _listed))


def needs_names(message: Message) -> bool:
    """Whether saying the message reads the registry's names."""
    return not NAMED.isdisjoint(message.params) or any(
        needs_names(value) for value in message.params.values() if isinstance(value, Message)
    )


def _as_is(value: Any, names: NameBook) -> str:
    return str(value)


def say(message: Message, names: NameBook | None = None) -> str:
    """The message in the language in force, its parameters said for a person."""
    translated = gettext(message.template)
    if not message.params:
        return translated
    book = names or NameBook({})
    said = {}
    for key, value in message.params.items():
        try:
            if isinstance(value, Message):
                said[key] = say(value, book)
            else:
                said[key] = "–" if value is None else _SAY.get(key, _as_is)(value, book)
        except (ValueError, TypeError):  # not the shape its name promises: shown as it is
            said[key] = str(value)
    return translated % said
