"""Request bodies derived from the workflow's command models, so the two never drift apart.

A command's `actor` (or a resident's `token`) is not part of the body: the API fills it in from the
caller's key (or `X-Case-Token`); bodies forbid unknown fields, so an `actor` sent anyway is a 422.
"""

from typing import Annotated, Any, TypeVar

from fastapi import Header
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from schemas.domain import Name

Command = TypeVar("Command", bound=BaseModel)

IdempotencyKey = Annotated[
    str,
    StringConstraints(pattern=r"^[\x21-\x7e]{1,128}$"),
    Field(description="repeat a request safely: the same key answers as the first request did, applied once"),
]
IdempotencyHeader = Annotated[IdempotencyKey | None, Header()]

_PERSON = (Name | None, Field(default=None, description="the person acting for the organisation, for the timeline"))


def body_of(command: type[BaseModel], *, supplied: str) -> type[BaseModel]:
    """`command` without the field the API supplies (`actor` or `token`); an acting organisation's body
    may name the person acting."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in command.model_fields.items() if name != supplied
    }
    if supplied == "actor":
        fields["person"] = _PERSON
    return create_model(
        f"{command.__name__}Body",
        __config__=ConfigDict(extra="forbid"),
        __doc__=command.__doc__,
        **fields,
    )


def command_from(command: type[Command], body: BaseModel, **supplied: Any) -> Command:
    values = {name: getattr(body, name) for name in type(body).model_fields if name != "person"}
    return command(**values, **supplied)


def request_id(caller: str, action: str, key: str | None) -> str | None:
    """The Temporal update id of a request sent with an `Idempotency-Key`: a retry attaches to the first
    request's update instead of applying again. Scoped to the caller and the action, so no one else's key,
    and no other action under the same key, can answer for it."""
    return None if key is None else f"{caller}:{action}:{key}"
