"""Scoring organisations for the red/black list (红黑榜) from the statistics, and storing the lists.

Weights are policy data (`activities/data/ranking_weights.json`); how a score is built is documented in
docs/statistics.md. Each street evaluates the organisations active in its area from its own cases; the
district evaluates them from its supervision record; the two weigh as the weights file says (5:5).
"""

from importlib import resources

import asyncpg
import structlog
from temporalio import activity

from activities.statistics import statistics
from schemas.ranking import (
    EntityKind,
    RankingEntry,
    RankingPeriod,
    RankingScore,
    RankingTable,
    RankingWeights,
    ScoredPeriod,
)
from schemas.statistics import DepartmentFigures, OrganisationFigures, Ratio, Statistics, StatisticsQuery

log = structlog.get_logger(__name__)


def bundled_weights() -> RankingWeights:
    text = resources.files("activities.data").joinpath("ranking_weights.json").read_text(encoding="utf-8")
    return RankingWeights.model_validate_json(text)


def _percent(ratio: Ratio | None) -> float | None:
    return None if ratio is None or ratio.rate is None else 100 * ratio.rate


def _satisfaction(mean_score: float | None) -> float | None:
    return None if mean_score is None else mean_score * 20


def _weighted(values: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """Weighted mean of the values that exist (weights renormalised over them); None when none does."""
    present = {name: value for name, value in values.items() if value is not None and weights[name] > 0}
    total = sum(weights[name] for name in present)
    return sum(weights[name] * value for name, value in present.items()) / total if total else None


def _company_components(figures: OrganisationFigures) -> dict[str, float | None]:
    return {
        "sla": _percent(figures.sla),
        "arrival": _percent(figures.arrival),
        "kept_in_compound": _percent(figures.kept_in_compound),
        "satisfaction": _satisfaction(figures.mean_score),
    }


def _department_components(figures: DepartmentFigures) -> dict[str, float | None]:
    return {
        "accepted_on_time": _percent(figures.accepted_on_time),
        "completed_on_time": _percent(figures.completed_on_time),
        "kept": _percent(Ratio(count=max(figures.tasks - figures.returns, 0), of=figures.tasks)),
        "satisfaction": _satisfaction(figures.mean_score),
    }


def _supervision_record(marks: int, items: int) -> float:
    return 100 * (1 - min(1.0, marks / items))


def _street_evaluation(evaluations: list[float | None]) -> float | None:
    present = [value for value in evaluations if value is not None]
    return sum(present) / len(present) if present else None


def score_entities(district: Statistics, streets: list[Statistics], weights: RankingWeights) -> list[RankingScore]:
    evaluation_weights = weights.evaluations.model_dump()
    company_weights = weights.property_company.model_dump()
    department_weights = weights.department.model_dump()
    scores: list[RankingScore] = []
    for figures in district.organisations:
        if figures.kind != EntityKind.PROPERTY_COMPANY or figures.cases < weights.min_items:
            continue
        in_streets = [
            _weighted(_company_components(local), company_weights)
            for street in streets
            for local in street.organisations
            if local.org == figures.org and local.cases
        ]
        satisfaction = _satisfaction(figures.mean_score)
        scores.append(
            _score(
                figures.org,
                figures.name,
                EntityKind.PROPERTY_COMPANY,
                figures.cases,
                _street_evaluation(in_streets),
                _supervision_record(figures.reached_district + figures.supervised, figures.cases),
                satisfaction,
                satisfaction is not None and satisfaction >= weights.red_min_satisfaction,
                _company_components(figures),
                evaluation_weights,
            )
        )
    for figures in district.departments:
        if figures.tasks < weights.min_items:
            continue
        in_streets = [
            _weighted(_department_components(local), department_weights)
            for street in streets
            for local in street.departments
            if local.department == figures.department
        ]
        scores.append(
            _score(
                figures.department,
                figures.name,
                EntityKind.DEPARTMENT,
                figures.tasks,
                _street_evaluation(in_streets),
                _supervision_record(figures.overdue + figures.supervised, figures.tasks),
                _satisfaction(figures.mean_score),
                True,
                _department_components(figures),
                evaluation_weights,
            )
        )
    return scores


def _score(
    org, name, kind, items, street, district, satisfaction, red_eligible, components, evaluation_weights
) -> RankingScore:
    score = _weighted({"street": street, "district": district}, evaluation_weights)
    assert score is not None  # the district evaluation always exists for an organisation with items
    return RankingScore(
        org=org,
        name=name,
        kind=kind,
        items=items,
        score=round(score, 1),
        street_evaluation=None if street is None else round(street, 1),
        district_evaluation=round(district, 1),
        satisfaction=None if satisfaction is None else round(satisfaction, 1),
        red_eligible=red_eligible,
        components={name: round(value, 1) for name, value in components.items() if value is not None},
    )


_INSERT = """
INSERT INTO rankings (period, period_start, period_end, org, kind, score, entry, board, position, computed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""


async def stored(connection: asyncpg.Connection, period: str | None = None) -> RankingTable | None:
    """A stored period's table; without a period, the latest one."""
    if period is None:
        period = await connection.fetchval("SELECT period FROM rankings ORDER BY period_end DESC LIMIT 1")
        if period is None:
            return None
    rows = await connection.fetch(
        "SELECT * FROM rankings WHERE period = $1 ORDER BY kind, board NULLS LAST, position, score DESC", period
    )
    if not rows:
        return None
    first = rows[0]
    return RankingTable(
        period=RankingPeriod(label=period, start=first["period_start"], end=first["period_end"]),
        computed_at=first["computed_at"],
        entries=[RankingEntry.model_validate(row["entry"]) for row in rows],
    )


class RankingActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def score_period(self, period: RankingPeriod) -> ScoredPeriod:
        weights = bundled_weights()
        async with self._pool.acquire() as connection:
            district = await statistics(connection, StatisticsQuery(since=period.start, until=period.end))
            codes = await connection.fetch("SELECT code FROM jurisdictions WHERE kind = 'STREET' ORDER BY code")
            streets = [
                await statistics(
                    connection, StatisticsQuery(jurisdiction=row["code"], since=period.start, until=period.end)
                )
                for row in codes
            ]
        return ScoredPeriod(
            period=period, list_size=weights.list_size, scores=score_entities(district, streets, weights)
        )

    @activity.defn
    async def store_rankings(self, table: RankingTable) -> None:
        """Replace the period's stored table in one transaction: a rerun or retry leaves exactly one."""
        period = table.period
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("DELETE FROM rankings WHERE period = $1", period.label)
            await connection.executemany(
                _INSERT,
                [
                    (
                        period.label,
                        period.start,
                        period.end,
                        entry.org,
                        entry.kind,
                        entry.score,
                        entry.model_dump(mode="json"),
                        entry.board,
                        entry.position,
                        table.computed_at,
                    )
                    for entry in table.entries
                ],
            )
        log.info("rankings stored", period=period.label, entries=len(table.entries))
