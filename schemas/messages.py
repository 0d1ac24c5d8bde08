"""Messages said later, in the reader's language.

Workflows may not import `i18n` (it reads the environment), yet their validators' refusals reach people. So a
message travels as an English template, marked for the catalogue with `N_` (one of Babel's default keywords),
and its named parameters as codes and values: a workflow raises it with the English text for logs and the
message itself as the ApplicationError's details, and a front end translates the template and says each
parameter as a person reads it (organisations and levels by name, times on the deployment's clock). The API's
own errors are messages of the same kind. What each parameter name stands for is fixed: `PARAMETERS`.
"""

from typing import Any

from pydantic import BaseModel


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for the catalogue, translate later"
    return message


# Every parameter name a message may use for a code or value a person reads, and how it is said. Any other
# name (a field, a technical reason) is shown as it is.
PARAMETERS: dict[str, str] = {
    "case": "a case id, as it is",
    "task": "a department task id, as it is",
    "org": "an organisation's code: its name",
    "owner": "an organisation's code: its name",
    "decider": "an organisation's code: its name",
    "street": "the street office's code: its name",
    "community": "the community's code: its name",
    "volunteer": "a volunteer's code: their name",
    "district": "a district's code: its name",
    "category": "a category's code: its name",
    "orgs": "organisation codes: their names, listed",
    "level": "a Level: its name",
    "status": "a case Status: its name",
    "task_status": "a TaskStatus: its name",
    "close_reason": "a CloseReason: its name",
    "severity": "a Severity: its name",
    "party": "a PartyRole: its name",
    "role": "a key's Role: its name",
    "roles": "key Roles: their names, listed",
    "org_kind": "an OrgKind: its name",
    "org_kinds": "OrgKinds: their names, listed",
    "key": "an API key's id, as it is",
    "account": "a person's account, as it is",
    "channel": "a Channel: its name",
    "key_channel": "a Channel: its name",
    "action": "an English phrase marked with N_: translated",
    "dependency": "an English phrase marked with N_ (or a product name): translated",
    "deadline": "a time: on the deployment's clock",
    "at": "a time: on the deployment's clock",
    "cap": "a duration: in words",
}


class Message(BaseModel):
    """An English template (marked with `N_`) and its named parameters."""

    template: str
    params: dict[str, Any] = {}

    def english(self) -> str:
        """The message in English with codes, for logs and for callers that do not translate."""
        if not self.params:
            return self.template
        return self.template % {key: _english(value) for key, value in self.params.items()}


def _english(value: Any) -> Any:
    if isinstance(value, Message):  # a message inside a message: "case %(case)s" in "%(what)s: ..."
        return value.english()
    return ", ".join(map(str, value)) if isinstance(value, list) else value


class Invalid(ValueError):
    """A validator's refusal of a value (pydantic reports it as a `value_error`), said later in the reader's
    language."""

    def __init__(self, template: str, **params: Any) -> None:
        self.words = Message(template=template, params=params)
        super().__init__(self.words.english())
