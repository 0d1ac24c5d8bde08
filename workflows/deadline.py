"""Deadline timers: a case or a department task sleeps until something changes or its next deadline.

A timer that fired means the deadline it was armed for is reached, whatever `workflow.now()` says. Workers
restarted after a `kill -9` have run the workflow task after a timer fired at the previous task's time; a
loop deciding by that clock armed the same timer again instead of escalating, and every later replay (at the
recorded time) escalated there instead: nondeterminism, the case stuck for good.

Nor may that task read the clock to decide what else is due: a worker started after the warning and the
deadline both passed fired, on that stale clock, the warning alone (and the deadline a task later), where a
replay at the recorded time fired both at once (found by `whistle chaos`). So a timer that fired fires what
was due at its own instant, whatever the clock; what else is past due fires a task later, once the case has
projected, on a clock that is right. For the same reason a deadline already past when its timer is armed
still gets a (1 ms) timer: whether a timer is started at all must not depend on the clock either.

One timer per deadline: a change that leaves the next deadline where it was (a note, an acceptance at the same
level, a linked report) keeps the timer that is running; only a moved deadline cancels it and starts another.
Histories recorded before armed a new timer after every change (a started and a cancelled timer event each).

A task the result of the workflow's own work began, that keeps the running timer, says so (workflows/idle.py).
"""

import asyncio
from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

from workflows.idle import say_waiting
from workflows.patches import LEAN_CASE

# Histories recorded before this patch fire at `workflow.now()`; later ones at no earlier than the due instant.
DEADLINE_REACHED_PATCH = "deadline-timer-fired-means-reached"
# Histories recorded since this one (and every lean case) fire exactly at the due instant.
DUE_INSTANT_PATCH = "deadline-timer-fires-at-its-due-instant"
_SHORTEST_TIMER = 0.001  # seconds: a deadline already past still gets a timer


class DeadlineTimer:
    """The timer of a workflow's next deadline, kept while the deadline stays where it is."""

    def __init__(self) -> None:
        self._due: datetime | None = None
        self._timer: asyncio.Task | None = None

    async def wait(self, due: datetime | None, changed: Callable[[], bool], *, resumed: bool) -> datetime | None:
        """Wait until `changed()` or until `due`; the moment to fire the deadlines at, or None after a change.
        `resumed`: this workflow task began with the result of the workflow's own work and has no command yet."""
        if not workflow.patched(LEAN_CASE):
            return await _wait_with_a_new_timer(due, changed)
        if due != self._due or (self._timer is None and due is not None):
            self._disarm()
            self._due = due
            if due is not None:
                seconds = max(_seconds_until(due), _SHORTEST_TIMER)
                self._timer = asyncio.create_task(asyncio.sleep(seconds))
        elif resumed:
            say_waiting(until=due)
        timer = self._timer
        await workflow.wait_condition(lambda: changed() or (timer is not None and timer.done()))
        if timer is None or not timer.done():
            return None
        self._timer = None
        assert due is not None
        return due

    def _disarm(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None


def _seconds_until(due: datetime) -> float:
    return max((due - workflow.now()).total_seconds(), 0.0)


async def _wait_with_a_new_timer(due: datetime | None, changed: Callable[[], bool]) -> datetime | None:
    due_instant = due is not None and workflow.patched(DUE_INSTANT_PATCH)
    timeout = None if due is None else _seconds_until(due)
    if due_instant and timeout is not None:
        timeout = max(timeout, _SHORTEST_TIMER)
    try:
        await workflow.wait_condition(changed, timeout=timeout)
    except TimeoutError:
        assert due is not None
        if due_instant:
            return due
        now = workflow.now()
        return max(now, due) if workflow.patched(DEADLINE_REACHED_PATCH) else now
    return None
