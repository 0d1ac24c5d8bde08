"""The faults of a run, at moments drawn from its seed while the cases are driven: `kill -9` of the worker
(started again at once), the API killed while a request is under way (the caller retries with the same key),
PostgreSQL stopped for a while, the Temporal dev server restarted on its file, the webhook receiver failing
for a while."""

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel

from bench.chaos.drivers import Driver
from bench.chaos.receiver import WebhookReceiver
from bench.chaos.stack import ChaosStack

WORKER_KILL = "worker killed (kill -9)"
API_KILL = "API killed mid-request"
API_KILL_IDLE = "API killed (no request under way)"
POSTGRES_OUTAGE = "PostgreSQL stopped"
TEMPORAL_RESTART = "Temporal dev server restarted"
WEBHOOK_FAILURE = "webhook receiver failing"
_WORKING_WITHIN = 20.0  # seconds a new worker gets to do some work before it is killed anyway
_REQUEST_WITHIN = 10.0  # seconds to wait for a request under way before killing the API
_REPORTING = 0.5  # of the window: the part in which the driver still reports cases


class FaultPlan(BaseModel):
    worker_kills: int
    api_kills: int
    postgres_outage: float  # seconds
    temporal_restarts: int
    webhook_failure: float  # seconds


@dataclass
class FaultLog:
    counts: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)  # what each long fault took, when

    def note(self, began: float, text: str) -> None:
        self.notes.append(f"t+{time.monotonic() - began:.0f}s {text}")


class Faults:
    def __init__(self, stack: ChaosStack, receiver: WebhookReceiver, driver: Driver, plan: FaultPlan, seed: int):
        self.stack = stack
        self.receiver = receiver
        self.driver = driver
        self.plan = plan
        self.rng = random.Random(seed)
        self.log = FaultLog()
        self._began = time.monotonic()

    async def inject(self, window: float) -> None:
        """Every fault of the plan within `window` seconds from now."""
        self._began = time.monotonic()
        await asyncio.gather(self._worker_kills(window), self._api_kills(window), self._outages(window))

    def _moments(self, count: int, window: float) -> list[float]:
        return sorted(self.rng.uniform(0.05 * window, 0.95 * window) for _ in range(count))

    async def _at(self, moment: float) -> None:
        await asyncio.sleep(max(self._began + moment - time.monotonic(), 0.0))

    async def _worker_kills(self, window: float) -> None:
        worker = self.stack.worker
        for moment in self._moments(self.plan.worker_kills, window):
            await self._at(moment)
            with contextlib.suppress(TimeoutError):  # a worker that has done some work: the kill lands on work
                await asyncio.wait_for(worker.working.wait(), _WORKING_WITHIN)
            await worker.kill()
            self.log.counts[WORKER_KILL] += 1

    async def _api_kills(self, window: float) -> None:
        """While cases are being reported (the first half of the window), each kill inside a request."""
        for moment in self._moments(self.plan.api_kills, _REPORTING * window):
            await self._at(moment)
            mid_request = False
            give_up = self._began + _REPORTING * window
            while not mid_request and time.monotonic() < give_up:  # a request takes milliseconds: catch one
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.driver.requesting.wait(), _REQUEST_WITHIN)
                await asyncio.sleep(self.rng.uniform(0.002, 0.015))  # into the API's handling of it
                mid_request = self.driver.in_flight > 0
            await self.stack.api.kill()
            self.log.counts[API_KILL if mid_request else API_KILL_IDLE] += 1

    async def _outages(self, window: float) -> None:
        """One after another, so each is seen on its own: webhook failure, PostgreSQL, Temporal."""
        if self.plan.webhook_failure:
            await self._at(0.1 * window)
            self.receiver.failing = True
            self.log.note(self._began, "webhook receiver fails")
            await asyncio.sleep(self.plan.webhook_failure)
            self.receiver.failing = False
            self.log.note(self._began, "webhook receiver recovers")
            self.log.counts[WEBHOOK_FAILURE] += 1
        if self.plan.postgres_outage:
            await self._at(0.3 * window)
            await self._down("postgres", self._postgres_outage())
            self.log.counts[POSTGRES_OUTAGE] += 1
        for restart in range(self.plan.temporal_restarts):
            await self._at((0.6 + 0.3 * restart / max(self.plan.temporal_restarts, 1)) * window)
            await self._down("temporal", self.stack.temporal.restart())
            self.log.counts[TEMPORAL_RESTART] += 1

    async def _postgres_outage(self) -> None:
        await asyncio.to_thread(self.stack.postgres.stop)
        self.log.note(self._began, "PostgreSQL stopped")
        await asyncio.sleep(self.plan.postgres_outage)
        await asyncio.to_thread(self.stack.postgres.start)

    async def _down(self, dependency: str, outage) -> None:
        self.stack.deps.down.add(dependency)
        began = time.monotonic()
        try:
            await outage
        finally:
            self.stack.deps.down.discard(dependency)
        self.log.note(self._began, f"{dependency} back after {time.monotonic() - began:.0f} s")
