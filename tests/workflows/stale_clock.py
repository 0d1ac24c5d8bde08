"""Fault injection: run workflows the way workers restarted after `kill -9` were seen to run them.

In the recorded stuck cases (tests/workflows/histories/stuck-*.json) the workflow task after a deadline timer
fired ran at the time of the task before it: replaying those histories with exactly that one start time set
back reproduces every recorded command. `whistle chaos` later met the same stale clock on a task that fired no
timer (most likely an activity's completion: docs/reliability.md, finding 3).

This runner gives each activation that `stale` picks the time of the last activation it did not pick, and
otherwise runs the workflow unchanged: `fires_a_timer` (the default) sets back the timer's tasks,
`answers_or_delivers` every other task that moves the workflow (an activity's result, an update, a signal).
"""

from collections.abc import Callable

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner

from workers.runners import DelegatingInstance, DelegatingRunner

# What a workflow waits on besides its timers: the results of what it started, and messages sent to it.
_ANSWERS_AND_MESSAGES = frozenset(
    {
        "resolve_activity",
        "resolve_child_workflow_execution_start",
        "resolve_child_workflow_execution",
        "resolve_signal_external_workflow",
        "resolve_request_cancel_external_workflow",
        "do_update",
        "signal_workflow",
    }
)


def _variants(act: WorkflowActivation) -> set[str]:
    return {job.WhichOneof("variant") for job in act.jobs}


def fires_a_timer(act: WorkflowActivation) -> bool:
    return "fire_timer" in _variants(act)


def answers_or_delivers(act: WorkflowActivation) -> bool:
    """An activity's result (or a child's, or another workflow's acknowledgement), an update or a signal, and
    no timer."""
    variants = _variants(act)
    return "fire_timer" not in variants and bool(variants & _ANSWERS_AND_MESSAGES)


class StaleClockRunner(DelegatingRunner):
    def __init__(
        self, inner: WorkflowRunner | None = None, stale: Callable[[WorkflowActivation], bool] = fires_a_timer
    ) -> None:
        super().__init__(inner)
        self._stale = stale

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _StaleClockInstance(super().create_instance(det), self._stale)


class _StaleClockInstance(DelegatingInstance):
    def __init__(self, inner: WorkflowInstance, stale: Callable[[WorkflowActivation], bool]) -> None:
        super().__init__(inner)
        self._stale = stale
        self._previous: Timestamp | None = None

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        if act.HasField("timestamp"):
            if self._previous is not None and self._stale(act):
                act.timestamp.CopyFrom(self._previous)
            else:
                self._previous = Timestamp()
                self._previous.CopyFrom(act.timestamp)
        return super().activate(act)
