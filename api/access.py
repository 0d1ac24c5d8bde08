"""Access rules: every endpoint declares exactly one, through the dependency that enforces it.

A rule names the credential a caller presents (an organisation's API key, a signed-in person's session, a
resident's case token) and the right the caller's role must hold (`schemas.keys.RIGHTS`). The dependencies of
`api.auth` and `api.sessions` carry their rule (`declare`); a route that checks its caller itself (a form field,
the cases a photo belongs to) or lets anyone in names its rule with `declared(rule)`. `rule_of(route)` finds a
route's rule by walking its dependencies, so the table of who may call what (`api.authorization`,
docs/authorization.md) is read off the routes themselves: no second copy to drift.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import Depends
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from schemas.keys import Right

ATTRIBUTE = "access_rule"
F = TypeVar("F", bound=Callable[..., Any])


class Credential(StrEnum):
    KEY = "API key"  # Authorization: Bearer <key>
    SESSION = "session"  # a signed-in person's cookie (api/sessions.py)
    CASE_TOKEN = "case token"  # a resident's X-Case-Token, or the resident pages' case cookie
    FORM_KEY = "api_key field"  # Open311: the intake key as a form field


@dataclass(frozen=True)
class Rule:
    """Who may call: holders of one of `credentials` whose role holds `right` (any role when None)."""

    name: str
    credentials: frozenset[Credential] = frozenset()
    right: Right | None = None
    optional: bool = False  # a caller without any credential is let in
    missing: int = 401  # the answer to a caller without one (pages: 303 to the sign-in page)

    @property
    def public(self) -> bool:
        return not self.credentials


PUBLIC = Rule("PUBLIC", optional=True)
RESIDENT = Rule("RESIDENT", frozenset({Credential.CASE_TOKEN}))
RESIDENT_PAGE = Rule("RESIDENT", frozenset({Credential.CASE_TOKEN}), missing=403)  # the case cookie of /resident
SIGNED_IN = Rule("SIGNED_IN", frozenset({Credential.SESSION}), missing=303)
REPORTING = Rule("PUBLIC, or a key with REPORT", frozenset({Credential.KEY}), Right.REPORT, optional=True)
OPEN311_REPORTING = Rule("REPORT (api_key)", frozenset({Credential.FORM_KEY}), Right.REPORT, missing=403)
UPLOADING = Rule("PUBLIC, or any key", frozenset({Credential.KEY}), optional=True)
PHOTO = Rule("RESIDENT or any key", frozenset({Credential.KEY, Credential.CASE_TOKEN}))
PERSONAL_DATA = Rule(
    "PERSONAL_DATA (key or session)", frozenset({Credential.KEY, Credential.SESSION}), Right.PERSONAL_DATA
)


def key(right: Right) -> Rule:
    """An API key whose role holds `right`."""
    return Rule(right.value, frozenset({Credential.KEY}), right)


def page(right: Right) -> Rule:
    """A signed-in person whose role holds `right`."""
    return Rule(f"{right.value} (page)", frozenset({Credential.SESSION}), right, missing=303)


def declare(rule: Rule, dependency: F) -> F:
    """Mark the dependency that enforces `rule`."""
    setattr(dependency, ATTRIBUTE, rule)
    return dependency


def declared(rule: Rule) -> Any:
    """A route's `dependencies=[...]` entry naming its rule, for a route that enforces it in its own body."""

    async def declaration() -> None:
        return None

    return Depends(declare(rule, declaration))


Public = declared(PUBLIC)


class RuleConflict(Exception):
    pass


def _rules(dependant: Dependant) -> Iterator[Rule]:
    for dependency in dependant.dependencies:
        rule = getattr(dependency.call, ATTRIBUTE, None)
        if rule is not None:
            yield rule  # what it depends on (the key, the session) is the rule's business
        else:
            yield from _rules(dependency)


def rule_of(route: APIRoute) -> Rule | None:
    """The route's one rule; None if it declares none; RuleConflict if it declares two."""
    found = set(_rules(route.dependant))
    if len(found) > 1:
        raise RuleConflict(f"{route.path} declares {len(found)} access rules: {sorted(r.name for r in found)}")
    return next(iter(found), None)
