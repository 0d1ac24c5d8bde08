"""Deadline timers: a case or a department task sleeps until something changes or its next deadline.

A timer that fired means the deadline it was armed for is reached, whatever `workflow.now()` says. Workers
restarted after a `kill -9` have run the workflow task after a timer fired at the previous task's time; a
loop deciding by that clock armed the same timer again instead of escalating, and every later replay (at the
recorded time) escalated there instead: nondeterminism, the case stuck for good.

Nor may that task read the clock to decide what else is due: a worker started after the warning and the
deadline both passed fired, on that stale clock, the warning alone (and the deadline a task later), where a
replay at the recorded time fired both at once (found by `whistle chaos`). So a timer that fired fires what
was due at its own instant, whatever the clock; what else is past due fires a task later, once the case has
projected, on a clock that is right.
"""

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

# Histories recorded before this patch fire at `workflow.now()`; later ones at no earlier than the due instant.
DEADLINE_REACHED_PATCH = "deadline-timer-fired-means-reached"
# Histories recorded since this one fire exactly at the due instant.
DUE_INSTANT_PATCH = "deadline-timer-fires-at-its-due-instant"


async def wait_for_change_or(due: datetime | None, changed: Callable[[], bool]) -> datetime | None:
    """Wait until `changed()` or until `due`; the moment to fire the deadlines at, or None after a change."""
    timeout = max((due - workflow.now()).total_seconds(), 0.0) if due else None
    try:
        await workflow.wait_condition(changed, timeout=timeout)
    except TimeoutError:
        assert due is not None
        if workflow.patched(DUE_INSTANT_PATCH):
            return due
        now = workflow.now()
        return max(now, due) if workflow.patched(DEADLINE_REACHED_PATCH) else now
    return None
