"""A query that reaches a worker ahead of a workflow task leaves no workflow run ahead of its history.

Temporal hands a query straight to a worker (a "legacy" query task) when the workflow has no workflow task
pending, with the history as it stands when a worker takes it. A query sent while a case waited on its
projection, and taken after the projection's result came (by a worker just restarted, before the workflow
task the result began: `whistle chaos`, docs/reliability.md finding 7), brings that result along. The
SDK's core runs the workflow on it (the case arms its deadline timer), answers the query, and keeps the run
with that command unsent. The workflow task then holds nothing new but what came with it, an update, run
in an activation of its own after the timer; every replay runs the result and the update in one activation,
the update first: nondeterminism, the case stuck.

Such a query comes right after an activation that moved the workflow live on the clock of the activation
before it (the core sets the workflow's clock only from a workflow task's start, so no task carried it), at
the same history length. The worker fails that query instead of answering it; a failed activation makes the
core drop the run, and the workflow task replays the whole history like any replay after it. The reader of
that one query is refused: the API and intake ask again (`client/cases.answers_later`), a read of a case's view
falls back to the read model. A workflow task with
two activations that move the workflow (local activities: Whistle has none) would look the same to this.
"""

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.failure.v1 import Failure
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import Failure as ActivationFailure
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails

from schemas.case import RUN_AHEAD
from workers.runners import DelegatingInstance, DelegatingRunner

LEGACY_QUERY_ID = "legacy_query"  # the id the SDK's core gives a query that came as a task of its own


class NoRunAheadRunner(DelegatingRunner):
    """Runs workflows with `inner` (unsandboxed by default), failing a query that left the run ahead."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _NoRunAheadInstance(super().create_instance(det))


class _NoRunAheadInstance(DelegatingInstance):
    def __init__(self, inner: WorkflowInstance) -> None:
        super().__init__(inner)
        self._clock: Timestamp | None = None  # the workflow time of the last activation
        # the history length of the last activation that moved the workflow live on the clock of the one before
        # (no workflow task started in between: the core only sets the clock from a task's start), else None
        self._ahead_at: int | None = None

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        if _legacy_query(act) and self._ahead_at == act.history_length:
            return WorkflowActivationCompletion(
                run_id=act.run_id, failed=ActivationFailure(failure=Failure(message=RUN_AHEAD))
            )
        if any(job.WhichOneof("variant") != "query_workflow" for job in act.jobs):
            ahead = not act.is_replaying and act.HasField("timestamp") and act.timestamp == self._clock
            self._ahead_at = act.history_length if ahead else None
        if act.HasField("timestamp"):
            self._clock = Timestamp()
            self._clock.CopyFrom(act.timestamp)
        return super().activate(act)


def _legacy_query(act: WorkflowActivation) -> bool:
    return any(
        job.WhichOneof("variant") == "query_workflow" and job.query_workflow.query_id == LEGACY_QUERY_ID
        for job in act.jobs
    )
