"""Typed custom search attributes every case carries, for the Temporal UI and visibility queries."""

from temporalio.common import SearchAttributeKey

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
