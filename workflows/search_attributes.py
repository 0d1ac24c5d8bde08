"""Typed custom search attributes of a case, for the Temporal UI and visibility queries.

An operator finds a case in the Temporal UI by where it is and what it is about: the fixed attributes, set
once when intake starts the workflow (no upsert, no extra visibility write). Level, status, deadline and
overdue change at every step; the read model answers every list by them (`whistle case list`, the API), so
cases no longer upsert them. Cases started before still do (they stay registered for those).
"""

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from schemas.domain import Severity
from schemas.registry import CaseContext

LEVEL = SearchAttributeKey.for_keyword("WhistleLevel")
STATUS = SearchAttributeKey.for_keyword("WhistleStatus")
CATEGORY = SearchAttributeKey.for_keyword("WhistleCategory")
SEVERITY = SearchAttributeKey.for_keyword("WhistleSeverity")
STREET = SearchAttributeKey.for_keyword("WhistleStreet")
COMMUNITY = SearchAttributeKey.for_keyword("WhistleCommunity")
COMPOUND = SearchAttributeKey.for_keyword("WhistleCompound")
DEADLINE = SearchAttributeKey.for_datetime("WhistleDeadline")
OVERDUE = SearchAttributeKey.for_bool("WhistleOverdue")

ALL = [LEVEL, STATUS, CATEGORY, SEVERITY, STREET, COMMUNITY, COMPOUND, DEADLINE, OVERDUE]


def at_start(context: CaseContext, severity: Severity | None) -> TypedSearchAttributes:
    """The attributes a case keeps for its whole life, for the start of its workflow."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(CATEGORY, context.category.code),
            SearchAttributePair(SEVERITY, (severity or context.category.default_severity).value),
            SearchAttributePair(STREET, context.street),
            SearchAttributePair(COMMUNITY, context.community),
            SearchAttributePair(COMPOUND, context.compound),
        ]
    )
