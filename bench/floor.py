"""The Temporal floor: a workflow that runs one no-op activity, the least a durable step can cost."""

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn
async def floor_step() -> None:
    return None


@workflow.defn
class FloorWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(floor_step, start_to_close_timeout=timedelta(seconds=30))


def floor_worker(client: Client, task_queue: str, **options) -> Worker:
    """Same worker options as the Whistle worker, so the two differ only in the workflow they run."""
    return Worker(client, task_queue=task_queue, workflows=[FloorWorkflow], activities=[floor_step], **options)
