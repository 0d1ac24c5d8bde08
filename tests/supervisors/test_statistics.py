"""Statistics from the scripted scenario, figure by figure, as `docs/statistics.md` defines them."""

from datetime import timedelta

import pytest

from activities.registry import UnknownReference
from activities.statistics import statistics
from schemas.domain import JurisdictionKind, Level
from schemas.statistics import Ratio, StatisticsQuery


async def figures(pool, scripted, **query):
    async with pool.acquire() as connection:
        return await statistics(connection, StatisticsQuery(as_of=scripted.as_of, **query))


def ratio(count: int, of: int) -> Ratio:
    return Ratio(count=count, of=of)


async def test_district_figures(pool, scripted):
    stats = await figures(pool, scripted, jurisdiction="HP")
    assert stats.jurisdiction_kind is JurisdictionKind.DISTRICT
    assert (stats.reported, stats.open, stats.resolved, stats.closed, stats.withdrawn) == (4, 1, 2, 3, 1)
    assert stats.level(Level.COUNCIL).resolved == ratio(1, 2)  # 矛盾不出小区: the sewer case
    assert stats.level(Level.COMMUNITY).resolved == ratio(1, 2)  # the clutter case
    assert stats.level(Level.STREET).resolved == ratio(0, 2)
    assert [stats.level(level).open_now for level in Level] == [0, 0, 0, 1]
    assert (stats.whistles, stats.auto_escalations) == (1, 3)
    assert stats.escalated_cases == ratio(2, 4)
    # stints: sewer 1, noise 1, clutter 3 (council, community, reopened at community), fumes 4;
    # breaches: the fumes case's four deadlines (the street's late reroute is not a stint's breach)
    assert stats.sla == ratio(5, 9)
    assert [stats.level(level).sla for level in Level] == [ratio(3, 4), ratio(2, 3), ratio(0, 1), ratio(0, 1)]
    assert stats.arrival == ratio(1, 2)  # sewer on time, noise missed
    assert stats.first_time_satisfaction == ratio(1, 2)
    assert stats.mean_score == pytest.approx(4.5)  # latest scores 5 and 4
    assert stats.reopened == 1
    assert stats.overdue_now == 1
    assert (stats.supervisions, stats.supervised_cases) == (1, 2)
    assert (stats.returns, stats.task_overdue) == (1, 1)
    assert sum(point.reported for point in stats.trend) == 4
    assert sum(point.sla.of for point in stats.trend) == 9
    # 响应率: sewer and clutter were accepted before any breach; the noise case never, fumes breached first
    assert stats.rates.response == ratio(2, 4)
    assert stats.rates.resolution == ratio(2, 3)  # sewer and clutter, of the four less the withdrawn noise case
    assert stats.rates.satisfaction == ratio(2, 2)  # both closed satisfied (clutter at its second verdict)


async def test_the_three_rates_per_property_company(pool, scripted):
    orgs = {figures.org: figures for figures in (await figures(pool, scripted, jurisdiction="HP")).organisations}
    lvyuan, huaxia = orgs["PM-LVYUAN"].rates, orgs["PM-HUAXIA"].rates
    assert (lvyuan.response, lvyuan.resolution, lvyuan.satisfaction) == (ratio(1, 1), ratio(1, 1), ratio(1, 1))
    assert (huaxia.response, huaxia.resolution, huaxia.satisfaction) == (ratio(0, 1), ratio(0, 0), ratio(0, 0))
    assert orgs["HP-DF-QH"].rates is None  # a community is not a property company


async def test_per_organisation_and_department(pool, scripted):
    stats = await figures(pool, scripted)
    orgs = {figures.org: figures for figures in stats.organisations}
    assert set(orgs) == {"PM-LVYUAN", "PM-JINDI", "PM-HUAXIA", "HP-DF-QH", "HP-XH-MY", "HP-XH", "HP-CENTRE"}
    assert orgs["HP-XH"].sla == ratio(0, 1)
    assert (orgs["PM-LVYUAN"].sla, orgs["PM-LVYUAN"].arrival) == (ratio(1, 1), ratio(1, 1))
    assert (orgs["PM-JINDI"].sla, orgs["PM-JINDI"].arrival) == (ratio(1, 2), ratio(0, 0))
    assert (orgs["PM-HUAXIA"].arrival, orgs["PM-HUAXIA"].supervised) == (ratio(0, 1), 1)
    assert orgs["HP-DF-QH"].sla == ratio(2, 2)
    assert orgs["HP-XH-MY"].sla == ratio(0, 1)
    assert orgs["HP-CENTRE"].sla == ratio(0, 1)
    assert orgs["PM-JINDI"].kind == "PROPERTY_COMPANY" and orgs["PM-JINDI"].name

    departments = {figures.department: figures for figures in stats.departments}
    assert set(departments) == {"CGZF", "HB"}
    lead, assist = departments["CGZF"], departments["HB"]
    assert (lead.tasks, lead.accepted_on_time, lead.completed_on_time) == (1, ratio(1, 1), ratio(0, 1))
    assert lead.mean_accept_minutes == pytest.approx(66, abs=1)  # summoned at +1d4h30m, accepted at +1d5h36m
    assert (lead.returns, lead.overdue, lead.mean_completion_hours) == (0, 1, None)
    assert (assist.tasks, assist.accepted_on_time, assist.returns, assist.overdue) == (1, ratio(0, 1), 1, 0)


async def test_street_and_compound_scopes(pool, scripted):
    xinhua = await figures(pool, scripted, jurisdiction="HP-XH")
    assert (xinhua.reported, xinhua.overdue_now, xinhua.sla, xinhua.auto_escalations) == (1, 1, ratio(0, 4), 3)
    dongfeng = await figures(pool, scripted, jurisdiction="HP-DF")
    assert (dongfeng.reported, dongfeng.overdue_now, dongfeng.sla, dongfeng.whistles) == (3, 0, ratio(5, 5), 1)
    compound = await figures(pool, scripted, jurisdiction="HP-DF-QH-1")
    assert compound.jurisdiction_kind is JurisdictionKind.COMPOUND
    assert (compound.reported, compound.level(Level.COUNCIL).resolved) == (1, ratio(1, 1))


async def test_period_selects_by_report_time_but_overdue_is_now(pool, scripted):
    later = await figures(pool, scripted, since=scripted.started + timedelta(hours=1))
    assert (later.reported, later.sla, later.first_time_satisfaction.rate) == (0, ratio(0, 0), None)
    assert later.overdue_now == 1  # a snapshot of every open case, whatever its report date
    window = await figures(pool, scripted, since=scripted.started, until=scripted.started + timedelta(hours=1))
    assert window.reported == 4


async def test_unknown_jurisdiction_and_reversed_period_are_rejected(pool, scripted):
    with pytest.raises(UnknownReference, match="NOWHERE"):
        await figures(pool, scripted, jurisdiction="NOWHERE")
    with pytest.raises(ValueError, match="since must be before until"):
        StatisticsQuery(since=scripted.as_of, until=scripted.started)


async def test_property_company_and_department_satisfaction(pool, scripted):
    stats = await figures(pool, scripted)
    orgs = {figures.org: figures for figures in stats.organisations}
    lvyuan, jindi, huaxia = orgs["PM-LVYUAN"], orgs["PM-JINDI"], orgs["PM-HUAXIA"]
    assert (lvyuan.cases, lvyuan.kept_in_compound, lvyuan.first_time_satisfaction) == (1, ratio(1, 1), ratio(1, 1))
    assert lvyuan.mean_score == 5
    # PM-JINDI manages the clutter case's compound and the fumes case's
    assert (jindi.cases, jindi.reached_district, jindi.kept_in_compound) == (2, 1, ratio(0, 1))
    assert (jindi.first_time_satisfaction, jindi.mean_score) == (ratio(0, 1), 4)
    assert (huaxia.cases, huaxia.kept_in_compound, huaxia.mean_score) == (1, ratio(0, 0), None)
    assert orgs["HP-CENTRE"].cases == 0 and orgs["HP-CENTRE"].mean_score is None
    assert {d.department: d.mean_score for d in stats.departments} == {"CGZF": None, "HB": None}
