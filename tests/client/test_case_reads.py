"""Reading a case: Temporal's answer while it can give one, else the read model's copy."""

from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from client import cases
from tests.waiting import projected, quiescent
from tests.workflows.conftest import Harness
from workers.worker import build_worker


@workflow.defn(name="CaseWorkflow")
class NotTheCaseWorkflow:
    """Code that no case's history replays on, as a worker that meets finding 7 of docs/reliability.md."""

    @workflow.run
    async def run(self, start: dict) -> None:
        await workflow.wait_condition(lambda: False)


async def test_a_case_whose_workflow_cannot_answer_is_read_from_the_read_model(dev_env, pool, task_queue):
    harness = Harness(env=dev_env, pool=pool, task_queue=task_queue)
    async with build_worker(dev_env.client, pool, task_queue):
        handle, token = await harness.report()
        live = await harness.view(handle)
        await quiescent(handle)
        await projected(pool, live)
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[NotTheCaseWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_cached_workflows=0,
    ):
        view = await cases.read_case_view(dev_env.client, pool, live.case_id)
        role = await cases.read_resident_role(dev_env.client, pool, live.case_id, token)
    assert (view.case_id, view.status, view.last_seq) == (live.case_id, live.status, live.last_seq)
    assert role is cases.ResidentRole.REPORTER
