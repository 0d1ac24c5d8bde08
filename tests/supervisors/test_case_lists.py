"""Keyset pages over a seeded read model (the million-case seeder, at a small size) cover every case exactly
once, in the order each sort promises, whatever index serves it."""

import re

import pytest

from activities import search
from bench.million import seed_cases
from schemas.domain import Level, Status
from schemas.search import CaseFilter, CaseSort
from tests.conftest import whistle_cli

OPEN = [Status.REPORTED, Status.IN_PROGRESS, Status.REOPENED]


async def pages(pool, query: CaseFilter) -> list:
    seen = []
    while True:
        page = await search.search_cases(pool, query, district="HP")
        seen += page.items
        if page.next_cursor is None:
            return seen
        query = query.model_copy(update={"after": page.next_cursor})


@pytest.fixture(scope="module")
async def seeded(pool):
    await seed_cases(pool, 3000)
    return pool


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        (
            CaseSort.DEADLINE,
            lambda c: (not c.overdue, c.deadline.timestamp() if c.deadline else float("inf"), c.case_id),
        ),
        (CaseSort.OLDEST, lambda c: (c.reported_at, c.case_id)),
    ],
)
async def test_pages_cover_everything_once_in_order(seeded, sort, key):
    everything = await pages(seeded, CaseFilter(sort=sort, limit=97))
    assert len(everything) == len({c.case_id for c in everything}) == 3000
    assert everything == sorted(everything, key=key)


async def test_newest_first_within_a_street(seeded):
    street = await pages(seeded, CaseFilter(street="HP-DF", sort=CaseSort.NEWEST, limit=50))
    assert street and all(c.street == "HP-DF" for c in street)
    assert street == sorted(street, key=lambda c: (c.reported_at, c.case_id), reverse=True)
    assert len(street) == await seeded.fetchval("SELECT count(*) FROM cases WHERE street = 'HP-DF'")


async def test_open_cases_by_deadline_come_before_closed_ones(seeded):
    first = (await search.search_cases(seeded, CaseFilter(sort=CaseSort.DEADLINE, limit=20), district="HP")).items
    assert all(case.status in OPEN for case in first)


async def test_whistle_case_list_pages_as_the_api_does(seeded, database_url, time_env):
    query = CaseFilter(street="HP-DF", status=OPEN, sort=CaseSort.NEWEST, limit=5)
    expected = await search.search_cases(seeded, query)
    statuses = [arg for status in OPEN for arg in ("--status", status.value)]
    args = ["case", "list", "--street", "HP-DF", *statuses, "--sort", "newest", "--limit", "5"]

    first = await whistle_cli(time_env, database_url, *args)
    assert re.findall(r"WH-SEED-\d+", first) == [case.case_id for case in expected.items]
    cursor = first.split("下一页：--after ")[1].split()[0]
    assert cursor == expected.next_cursor

    second = await whistle_cli(time_env, database_url, *args, "--after", cursor)
    following = await search.search_cases(seeded, query.model_copy(update={"after": cursor}))
    assert re.findall(r"WH-SEED-\d+", second) == [case.case_id for case in following.items]

    wrong_sort = ["case", "list", "--sort", "oldest", "--after", cursor]
    refused = await whistle_cli(time_env, database_url, *wrong_sort, exit_code=2)
    assert "the cursor belongs to sort='newest', not sort='oldest'" in refused


async def test_who_is_late_is_the_late_department_at_district_and_the_owner_below(seeded):
    open_cases = {case.case_id: case for case in await pages(seeded, CaseFilter(status=OPEN, limit=1000))}
    parties = await search.late_parties(seeded, list(open_cases))
    below = {case_id: orgs for case_id, orgs in parties.items() if open_cases[case_id].level is not Level.DISTRICT}
    assert below and all(orgs == [open_cases[case_id].owner] for case_id, orgs in below.items())
    kinds = dict(await seeded.fetch("SELECT code, kind FROM organisations"))
    at_district = {case_id: orgs for case_id, orgs in parties.items() if case_id not in below}
    departments = {org for orgs in at_district.values() for org in orgs if kinds[org] == "DEPARTMENT"}
    # at DISTRICT the late departments, never beside the centre; the centre only if no department is late
    assert all(
        all(kinds[org] == "DEPARTMENT" for org in orgs) or orgs == [open_cases[case_id].owner]
        for case_id, orgs in at_district.items()
    )
    named = sorted({org for orgs in parties.values() for org in orgs})
    for org in [*sorted(departments)[:3], *named[:3]]:
        late = await pages(seeded, CaseFilter(status=OPEN, late=org, limit=1000))
        assert {case.case_id for case in late} == {case_id for case_id, orgs in parties.items() if org in orgs}
