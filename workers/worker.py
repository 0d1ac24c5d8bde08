"""The worker: every workflow and activity Whistle runs, on one task queue."""

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.cases import CaseActivities
from workflows.case import CaseWorkflow

WORKFLOWS = [CaseWorkflow]


def activities(pool: asyncpg.Pool) -> list:
    cases = CaseActivities(pool)
    return [cases.resolve_context, cases.project]


def build_worker(client: Client, pool: asyncpg.Pool, task_queue: str, **options) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(pool),
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("schemas")
        ),
        **options,
    )
