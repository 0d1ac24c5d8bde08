"""The bench's residents: distinct reports spread over the demo compounds, and who sits on each council."""

from dataclasses import dataclass
from functools import cache

from activities import registry
from bench.stack import CATEGORY
from schemas.case import CaseReport


@dataclass(frozen=True)
class Council:
    compound: str
    property_company: str
    owners_committee: str


@cache
def councils() -> list[Council]:
    demo = registry.demo_jurisdiction()
    return [
        Council(compound["code"], compound["property_company"], f"OC-{compound['code']}")
        for street in demo["streets"]
        for community in street["communities"]
        for compound in community["compounds"]
    ]


def council(number: int) -> Council:
    return councils()[number % len(councils())]


def report(number: int) -> CaseReport:
    return CaseReport(
        compound=council(number).compound,
        category=CATEGORY,
        description=f"bench issue {number}: bicycles and boxes block the corridor",
    )
