"""A workflow task never ends without a command.

The SDK's core takes a workflow task that completed with no command for a heartbeat of the next one: a worker
that replays the history (one just started, or one that evicted the workflow) then runs the next task's signals
on the idle task's clock, and takes an update that arrived with them in an activation of its own, after the
commands the signals led to, where a later replay of the whole history runs the update first (sdk-core's
arch_docs/workflow_task_chunking.md). Found by `whistle chaos`: a case's department events recorded 24 s
early, and a case stuck for good on "Update machine does not handle this event".

So a task with nothing else to say says what the workflow is waiting for, in its memo: one that the result of
the workflow's own work began (its projection written, a child started) and that keeps its running timer, and
one whose signal arrived while the workflow was waiting on its own work. Histories recorded before keep
their path.
"""

from typing import Any

from temporalio import workflow

NO_IDLE_TASK_PATCH = "no-idle-workflow-task"


def say_waiting(**memo: Any) -> None:
    """Give this workflow task a command: the memo of what the workflow waits for."""
    if workflow.patched(NO_IDLE_TASK_PATCH):
        workflow.upsert_memo(memo)
