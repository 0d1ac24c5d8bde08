"""The read model under a worker that loses every projection once, after the commit: one row per transition."""

from datetime import timedelta

from temporalio import activity

from activities.cases import CaseActivities
from schemas.case import Accept, Actor, CaseProjection, EventKind
from schemas.domain import Level
from tests.waiting import quiescent
from tests.workflows.conftest import Harness
from workers.worker import build_worker
from workflows.case import CaseWorkflow


class LostAfterCommit(CaseActivities):
    """Writes, then fails its first attempt as a worker would that dies before reporting the completion."""

    failed: list[int] = []

    @activity.defn(name="project")
    async def project(self, projection: CaseProjection) -> None:
        await super().project(projection)
        if activity.info().attempt == 1:
            self.failed.append(projection.summary.last_seq)
            raise RuntimeError("worker lost after the commit")


async def test_an_activity_failing_once_still_writes_one_row_per_transition(fresh_time_env, pool, task_queue):
    cases = LostAfterCommit(pool)
    harness = Harness(env=fresh_time_env, pool=pool, task_queue=task_queue)
    async with build_worker(fresh_time_env.client, pool, task_queue, cases=cases):
        handle, _ = await harness.report()
        await handle.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org="PM-LVYUAN")))
        await fresh_time_env.sleep(timedelta(minutes=31))  # warning, breach, escalation to COMMUNITY
        await quiescent(handle)  # the escalation's projection retries after its lost first attempt
        view = await harness.view(handle)
        assert view.level is Level.COMMUNITY
        case_id = view.case_id
        row = await pool.fetchrow("SELECT level, last_seq FROM cases WHERE case_id = $1", case_id)
        events = await pool.fetch("SELECT seq, kind FROM case_events WHERE case_id = $1 ORDER BY seq", case_id)
        notified = await pool.fetch(
            "SELECT seq, recipient, count(*) AS n FROM notifications WHERE case_id = $1 GROUP BY 1, 2", case_id
        )
        assert await harness.replay() == 1
    assert len(cases.failed) >= 3  # the report, the acceptance and the escalation each failed once
    assert [(e["seq"], e["kind"]) for e in events] == [(e.seq, e.kind) for e in view.timeline]
    assert EventKind.ESCALATED in [e.kind for e in view.timeline]
    assert (row["level"], row["last_seq"]) == ("COMMUNITY", view.timeline[-1].seq)
    assert notified and all(n["n"] == 1 for n in notified)
