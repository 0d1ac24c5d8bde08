"""No workflow task of a case or a department task ends without a command, so every worker that replays a
history tells the story the live run told (workflows/deadline.py says why)."""

from client import cases
from schemas.case import AddNote, EventKind, Feedback
from schemas.domain import Status
from schemas.task import TaskAccept, TaskActor, TaskComplete
from tests.waiting import quiescent
from tests.workflows.conftest import Harness, idle_tasks
from tests.workflows.ladder import OWNERS
from tests.workflows.test_departments import act, settled, to_district
from workers.worker import build_worker
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow


async def test_a_case_through_its_departments_never_leaves_a_workflow_task_idle(dev_env, pool, task_queue):
    harness = Harness(env=dev_env, pool=pool, task_queue=task_queue)
    # a worker that keeps no workflow in memory, as one just started is: it replays the history for every task
    async with build_worker(dev_env.client, pool, task_queue, max_cached_workflows=0):
        handle, token, case_id = await to_district(harness, "CGZF", ["GH"])
        await handle.execute_update(CaseWorkflow.note, AddNote(actor=OWNERS, text="执法队明天到"))
        for department in ("CGZF", "GH"):
            actor = TaskActor(department=department)
            await act(harness, case_id, department, DepartmentTaskWorkflow.accept, TaskAccept(actor=actor))
            await act(
                harness, case_id, department, DepartmentTaskWorkflow.complete, TaskComplete(actor=actor, result="拆除")
            )
        await settled(harness, handle, lambda view: view.status is Status.RESOLVED)
        live = await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=5))
        assert live.status is Status.CLOSED and EventKind.TASK_COMPLETED in {e.kind for e in live.timeline}
        await quiescent(handle)
        replayed = await cases.view_case(dev_env.client, case_id)
        assert [(e.seq, e.kind, e.at) for e in replayed.timeline] == [(e.seq, e.kind, e.at) for e in live.timeline]
        for workflow in await harness.handles():
            assert idle_tasks(await workflow.fetch_history()) == [], workflow.id
        assert await harness.replay() == 3
