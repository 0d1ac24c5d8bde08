"""Fault injection: run workflows the way workers restarted after `kill -9` were seen to run them.

In the recorded stuck cases (tests/workflows/histories/stuck-*.json) the workflow task after a deadline timer
fired ran at the time of the task before it: replaying those histories with exactly that one start time set
back reproduces every recorded command. This runner gives each activation that fires a timer the time of the
last activation that fired none, and otherwise runs the workflow unchanged.
"""

from collections.abc import Sequence

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner


class StaleClockRunner(WorkflowRunner):
    def __init__(self, inner: WorkflowRunner | None = None) -> None:
        self._inner = inner or UnsandboxedWorkflowRunner()

    def prepare_workflow(self, defn) -> None:
        self._inner.prepare_workflow(defn)

    def set_worker_level_failure_exception_types(self, types: Sequence[type[BaseException]]) -> None:
        self._inner.set_worker_level_failure_exception_types(types)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _StaleClockInstance(self._inner.create_instance(det))


class _StaleClockInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance) -> None:
        self._inner = inner
        self._previous: Timestamp | None = None

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        if act.HasField("timestamp"):
            if self._previous is not None and any(job.HasField("fire_timer") for job in act.jobs):
                act.timestamp.CopyFrom(self._previous)
            else:
                self._previous = Timestamp()
                self._previous.CopyFrom(act.timestamp)
        return self._inner.activate(act)

    def get_serialization_context(self, command_info):
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info):
        return self._inner.get_external_store_context(command_info)

    def get_info(self):
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()
