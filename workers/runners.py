"""Workflow runners that hand everything to another runner (unsandboxed by default) but what they change:
the base of the worker's `NoRunAheadRunner` and the tests' stale-clock runner."""

from collections.abc import Sequence

from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner


class DelegatingRunner(WorkflowRunner):
    def __init__(self, inner: WorkflowRunner | None = None) -> None:
        self._inner = inner or UnsandboxedWorkflowRunner()

    def prepare_workflow(self, defn) -> None:
        self._inner.prepare_workflow(defn)

    def set_worker_level_failure_exception_types(self, types: Sequence[type[BaseException]]) -> None:
        self._inner.set_worker_level_failure_exception_types(types)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return self._inner.create_instance(det)


class DelegatingInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance) -> None:
        self._inner = inner

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._inner.activate(act)

    def get_serialization_context(self, command_info):
        return self._inner.get_serialization_context(command_info)

    def get_external_store_context(self, command_info):
        return self._inner.get_external_store_context(command_info)

    def get_info(self):
        return self._inner.get_info()

    def get_thread_id(self) -> int | None:
        return self._inner.get_thread_id()
