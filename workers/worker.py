"""The worker: every workflow and activity Whistle runs, on one task queue."""

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from activities.cases import CaseActivities
from activities.rankings import RankingActivities
from activities.tasks import TaskActivities
from client.request_ids import RequestLog
from workers.queries_ahead import NoRunAheadRunner
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow
from workflows.ranking import RankingWorkflow

WORKFLOWS = [CaseWorkflow, DepartmentTaskWorkflow, RankingWorkflow]

# Every open case sleeps on an SLA timer, and a department task is a workflow of its own. With the SDK's
# default of 1,000 a worker holding more open workflows than that evicts and replays on every timer and
# update; `whistle bench` saw a worker with 3,000 open cases and 2,000 tasks stop polling altogether.
CACHED_WORKFLOWS = 10_000
# Workflows run outside the sandbox: it cost ~40 % of the worker's CPU per case (a fresh import of the
# workflow module per cached workflow, an exec per payload), see docs/benchmarks.md. Determinism is guarded by
# the replay tests, which run every workflow test also with max_cached_workflows=0, and recorded histories;
# a query that would leave a workflow ahead of its history fails instead (workers/queries_ahead.py).


def activities(pool: asyncpg.Pool, cases: CaseActivities | None = None) -> list:
    cases = cases or CaseActivities(pool)
    tasks, rankings = TaskActivities(pool), RankingActivities(pool)
    return [
        cases.resolve_context,
        cases.project,
        cases.credit_volunteer,
        tasks.project_task,
        rankings.score_period,
        rankings.store_rankings,
    ]


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    task_queue: str,
    *,
    cases: CaseActivities | None = None,
    max_cached_workflows: int | None = None,
    **options,
) -> Worker:
    """`cases` replaces the case activities, e.g. with ones that fail the way a real worker can."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(pool, cases),
        workflow_runner=NoRunAheadRunner(),
        max_cached_workflows=CACHED_WORKFLOWS if max_cached_workflows is None else max_cached_workflows,
        interceptors=[RequestLog()],
        **options,
    )
