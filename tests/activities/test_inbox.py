"""The inbox over the read model: what waits on each organisation, what it expects next, filters, search,
paging and the count, for cases written to the read model as their workflows write them."""

from datetime import UTC, datetime, timedelta

from activities import registry
from activities.cases import CaseActivities
from activities.inbox import count, inbox
from activities.tasks import TaskActivities
from schemas.case import (
    Accept,
    Actor,
    CaseProjection,
    CaseReport,
    CaseStart,
    DepartmentSummons,
    EventKind,
    RequestExtension,
    Resolve,
    Whistle,
)
from schemas.domain import Level
from schemas.inbox import Expected, InboxFilter
from schemas.task import TaskChange, TaskStatus
from workflows.case_state import CaseState

COMPOUND, CATEGORY = "HP-DF-QH-1", "CORRIDOR_CLUTTER"
COMPANY, OWNERS, COMMUNITY, STREET = "PM-LVYUAN", "OC-HP-DF-QH-1", "HP-DF-QH", "HP-DF"
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def written(pool, number: int, description: str, steps) -> CaseState:
    """A case taken through `steps`, projected to the read model with its view (as the workflow does)."""
    async with pool.acquire() as connection:
        context = await registry.case_context(connection, COMPOUND, CATEGORY, "default")
    report = CaseReport(compound=COMPOUND, category=CATEGORY, description=description)
    reported = START + timedelta(minutes=number)
    case = CaseState(
        CaseStart(case_id=f"WH-20261123-{number:06d}", report=report), context, reported, patched=lambda _: True
    )
    steps(case, reported + timedelta(minutes=1))
    await CaseActivities(pool).project(
        CaseProjection(
            summary=case.summary(),
            events=case.timeline,
            view=case.view().model_copy(update={"timeline": []}),
            residents=case.residents(),
        )
    )
    for task in case.tasks.values():
        await TaskActivities(pool).project_task(task)
    return case


def nothing(case, now):
    pass


def proposed(case, now):
    case.apply_accept(Accept(actor=Actor(org=COMPANY)), now)
    case.apply_resolve(Resolve(actor=Actor(org=COMPANY), summary="cleared"), now)


def extension_asked_at_community(case, now):
    case.apply_whistle(Whistle(actor=Actor(org=COMPANY), reason="stuck"), now)
    case.apply_accept(Accept(actor=Actor(org=COMMUNITY)), now)
    until = case.stage.deadline + timedelta(hours=1)
    case.apply_request_extension(RequestExtension(actor=Actor(org=COMMUNITY), until=until, reason="parts"), now)


def returned_at_district(case, now):
    case.apply_whistle(Whistle(actor=Actor(org=COMPANY), reason="stuck"), now)
    case.apply_whistle(Whistle(actor=Actor(org=COMMUNITY), reason="stuck"), now)
    summons = DepartmentSummons(lead="CGZF", assist=["GH"])
    case.apply_whistle(Whistle(actor=Actor(org=STREET), reason="departments", departments=summons), now)
    task = case.tasks["GH"].model_copy(update={"status": TaskStatus.RETURNED, "version": 2})
    case.apply_task_change(TaskChange(kind=EventKind.TASK_RETURNED, task=task, actor="GH"), now)


async def test_each_organisation_sees_what_waits_on_it(pool):
    fresh = await written(pool, 1, "boxes in the corridor", nothing)
    voting = await written(pool, 2, "bicycles on the stairs", proposed)
    extending = await written(pool, 3, "a broken door", extension_asked_at_community)
    returned = await written(pool, 4, "a shed on the roof", returned_at_district)

    def expected(page) -> dict[tuple[str, bool], Expected]:
        return {(item.case_id, item.task): item.expected for item in page.items}

    company = await inbox(pool, COMPANY, InboxFilter())
    assert expected(company) == {
        (fresh.case_id, False): Expected.ACCEPT,
        (voting.case_id, False): Expected.AWAIT_SIGNOFF,
    }
    owners = await inbox(pool, OWNERS, InboxFilter())
    assert expected(owners)[(voting.case_id, False)] is Expected.SIGNOFF
    assert expected(await inbox(pool, COMMUNITY, InboxFilter()))[(extending.case_id, False)] is Expected.RESOLVE
    street = await inbox(pool, STREET, InboxFilter())
    assert expected(street) == {
        (extending.case_id, False): Expected.DECIDE_EXTENSION,
        (returned.case_id, False): Expected.REROUTE,
    }
    assert expected(await inbox(pool, "CGZF", InboxFilter())) == {(returned.case_id, True): Expected.REPORT_FOR_DUTY}
    assert (await inbox(pool, "GH", InboxFilter())).items == []  # it returned its task
    assert (await inbox(pool, "PM-HUAXIA", InboxFilter())).items == []  # another compound's company
    # sorted by deadline, the soonest first
    deadlines = [item.deadline for item in company.items]
    assert deadlines == sorted(deadlines)


async def test_filters_search_paging_and_count(pool):
    cases = [await written(pool, 10 + n, f"noise number {n}", nothing) for n in range(5)]
    everything = await inbox(pool, COMPANY, InboxFilter(size=100))
    assert await count(pool, COMPANY) == everything.total >= 5
    first = await inbox(pool, COMPANY, InboxFilter(size=3, page=1))
    second = await inbox(pool, COMPANY, InboxFilter(size=3, page=2))
    assert first.pages == second.pages == -(-everything.total // 3)
    assert not {i.case_id for i in first.items} & {i.case_id for i in second.items}
    by_id = await inbox(pool, COMPANY, InboxFilter(text=cases[2].case_id.lower()))
    assert [item.case_id for item in by_id.items] == [cases[2].case_id]
    by_words = await inbox(pool, COMPANY, InboxFilter(text="NUMBER 4"))
    assert [item.case_id for item in by_words.items] == [cases[4].case_id]
    assert (await inbox(pool, COMPANY, InboxFilter(text="100%"))).items == []  # a wildcard is a character
    assert (await inbox(pool, COMPANY, InboxFilter(level=[Level.STREET]))).items == []
    assert (await inbox(pool, COMPANY, InboxFilter(overdue=True))).items == []
    assert (await inbox(pool, COMPANY, InboxFilter(category=["NOISE"]))).items == []
    assert (await inbox(pool, COMPANY, InboxFilter(category=[CATEGORY]))).total == everything.total
