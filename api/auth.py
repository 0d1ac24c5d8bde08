"""Authentication and authorization, in one place.

Organisations present a bearer API key bound to (organisation, role); the role grants rights
(`schemas.keys.RIGHTS`), and the acting organisation always comes from the key, never from a body.
Whether that organisation may do a thing *to this case* (its level, its jurisdiction, its own task) is
decided by the workflow's validators, whose rejections come back as 403 with their message. Residents
present their case access token in `X-Case-Token`.
"""

from typing import Annotated, Any

import asyncpg
from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from temporalio.client import Client

from api import access, calls, keys
from api.dependencies import DbPool
from api.errors import ApiError, unauthorized
from schemas.actions import CASE_RIGHTS, ActionKind
from schemas.case import Actor, CaseView, ResidentRole
from schemas.domain import Channel
from schemas.keys import RIGHTS, Right, Role
from schemas.messages import N_
from schemas.people import Person
from schemas.task import TaskActor

# Property companies are registered at the district but only answer for their own compounds.
_AREA_ROLES = frozenset({Role.COMMUNITY, Role.STREET, Role.SUPERVISOR})
# Intake desks and the registry's keepers never see a case as a party, even when their organisation is one
# (the command centre keeps the registry and owns DISTRICT).
CASE_ROLES = frozenset(Role) - {Role.INTAKE, Role.ADMIN}

_bearer = HTTPBearer(auto_error=False, description="an organisation's API key (`whistle keys create`)")
_case_token = APIKeyHeader(
    name="X-Case-Token", auto_error=False, description="the access token a resident received when reporting"
)


class Principal(BaseModel):
    """Who is calling: the organisation a key speaks for, in its role; or a signed-in person of an
    organisation, in their role (`api.sessions`)."""

    key_id: str | None = None  # an API key's; None for a signed-in person
    org: str
    role: Role
    channel: Channel | None = None  # intake keys
    jurisdiction: str | None = None  # the organisation's jurisdiction in the registry
    person: Person | None = None  # who signed in; None for an API key

    def actor(self, person: str | None = None) -> Actor:
        """Who acts: a signed-in person by name and account; with a key, the name its caller gives."""
        if self.person:
            return Actor(org=self.org, person=self.person.name, account=self.person.account)
        return Actor(org=self.org, person=person)

    def task_actor(self, person: str | None = None) -> TaskActor:
        if self.person:
            return TaskActor(department=self.org, person=self.person.name, account=self.person.account)
        return TaskActor(department=self.org, person=person)

    def may_view(self, case: CaseView) -> bool:
        """A participant of the case, or a community, street or district centre whose area contains it."""
        if self.role not in CASE_ROLES:
            return False
        participants = {
            *case.council.values(),
            *(stage.owner for stage in case.stages),
            *(task.department for task in case.tasks),
        }
        over_area = self.role in _AREA_ROLES and self.jurisdiction in (case.community, case.street, case.district)
        return self.org in participants or over_area


async def authenticate(pool: asyncpg.Pool, key: str) -> Principal | None:
    found = await keys.find(pool, key)
    if found is None:
        return None
    info, jurisdiction = found
    return Principal(key_id=info.key_id, org=info.org, role=info.role, channel=info.channel, jurisdiction=jurisdiction)


async def _optional_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)], pool: DbPool
) -> Principal | None:
    if credentials is None:
        return None
    principal = await authenticate(pool, credentials.credentials)
    if principal is None:
        raise unauthorized(N_("unknown or revoked API key"))
    return principal


async def _principal(principal: Annotated[Principal | None, Depends(_optional_principal)]) -> Principal:
    if principal is None:
        raise unauthorized(N_("missing API key: send `Authorization: Bearer <key>`"))
    return principal


def check_right(principal: Principal, right: Right) -> None:
    if right not in RIGHTS[principal.role]:
        holders = [role for role, rights in RIGHTS.items() if right in rights]
        raise ApiError(
            403,
            N_("the %(role)s key of %(org)s lacks the %(right)s right (held by keys of: %(roles)s)"),
            params={"role": principal.role, "org": principal.org, "right": right, "roles": holders},
        )


def _require(right: Right):
    async def dependency(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        check_right(principal, right)
        return principal

    return access.declare(access.key(right), dependency)


async def _reporter(principal: Annotated[Principal | None, Depends(_optional_principal)]) -> Principal | None:
    if principal is not None:
        check_right(principal, Right.REPORT)
    return principal


# Whoever's key it is, if any: a route taking it declares its own rule (`access.declared`).
OptionalCaller = Annotated[Principal | None, Depends(_optional_principal)]
Reporter = Annotated[Principal | None, Depends(access.declare(access.REPORTING, _reporter))]
_CALLERS = {right: Annotated[Principal, Depends(_require(right))] for right in Right}


def acting(kind: ActionKind, rights: dict[ActionKind, Right] = CASE_RIGHTS) -> Any:
    """The caller of an action's route: a key whose role holds the right the action needs (`schemas.actions`, the
    table the handlers' pages read too)."""
    return _CALLERS[rights[kind]]


Handler = _CALLERS[Right.HANDLE]
Department = _CALLERS[Right.TASKS]
Supervisor = _CALLERS[Right.SUPERVISE]
Administrator = _CALLERS[Right.ADMINISTER]


async def _token(token: Annotated[str | None, Depends(_case_token)]) -> str:
    if not token:
        raise unauthorized(N_("missing case token: send the token you received when reporting in `X-Case-Token`"))
    return token


CaseToken = Annotated[str, Depends(access.declare(access.RESIDENT, _token))]


async def resident_access(client: Client, pool: asyncpg.Pool, case_id: str, token: str) -> ResidentRole:
    """The resident's role on the case (REPORTER or FOLLOWER); 403 for a token of another case."""
    role = await calls.resident_role(client, pool, case_id, token)
    if role is None:
        raise ApiError(403, N_("the case token does not belong to case %(case)s"), params={"case": case_id})
    return role


def check_view(principal: Principal, case: CaseView) -> None:
    if not principal.may_view(case):
        raise ApiError(
            403,
            N_("%(org)s is neither a participant of case %(case)s nor over its area"),
            params={"org": principal.org, "case": case.case_id},
        )
