"""RankingWorkflow: the red/black list (红黑榜) of one period, run monthly by a Temporal Schedule.

Scoring reads the statistics (an activity); choosing the lists is deterministic and happens here:
the best `list_size` eligible organisations of each kind go on the red list (a property company whose
satisfaction is below the threshold is not eligible), the worst of the rest on the black list.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.rankings import RankingActivities
    from schemas.ranking import (
        EntityKind,
        ListKind,
        RankingEntry,
        RankingRun,
        RankingTable,
        ScoredPeriod,
    )

ACTIVITY_TIMEOUT = timedelta(minutes=5)


def choose_lists(scored: ScoredPeriod) -> list[RankingEntry]:
    entries: list[RankingEntry] = []
    for kind in EntityKind:
        ranked = sorted((s for s in scored.scores if s.kind is kind), key=lambda s: (-s.score, s.org))
        red = [s for s in ranked if s.red_eligible][: scored.list_size]
        red_orgs = {s.org for s in red}
        black = [s for s in reversed(ranked) if s.org not in red_orgs][: scored.list_size]
        black_orgs = {s.org for s in black}
        for position, score in enumerate(red, start=1):
            entries.append(RankingEntry(**score.model_dump(), board=ListKind.RED, position=position))
        for position, score in enumerate(black, start=1):
            entries.append(RankingEntry(**score.model_dump(), board=ListKind.BLACK, position=position))
        entries += [RankingEntry(**s.model_dump()) for s in ranked if s.org not in red_orgs | black_orgs]
    return entries


@workflow.defn
class RankingWorkflow:
    @workflow.run
    async def run(self, run: RankingRun) -> RankingTable:
        now = workflow.now()
        period = run.ranked_period(now)
        scored = await workflow.execute_activity_method(
            RankingActivities.score_period, period, start_to_close_timeout=ACTIVITY_TIMEOUT
        )
        table = RankingTable(period=period, computed_at=now, entries=choose_lists(scored))
        await workflow.execute_activity_method(
            RankingActivities.store_rankings, table, start_to_close_timeout=ACTIVITY_TIMEOUT
        )
        workflow.logger.info("rankings of %s: %d organisations", period.label, len(table.entries))
        return table
