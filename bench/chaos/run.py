"""One chaos run: start the stack, drive the cases while the faults land, settle, check every invariant."""

import asyncio
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from bench.chaos import invariants
from bench.chaos.drivers import DriveLog, Driver, plan
from bench.chaos.faults import FaultLog, FaultPlan, Faults
from bench.chaos.invariants import Findings
from bench.chaos.receiver import webhook_receiver
from bench.chaos.stack import ChaosStack, chaos_stack

_REPORTING_SHARE = 0.6  # of the window: cases are reported in its first part, driven until its end
_SETTLE_SECONDS = 120.0  # bound on each wait for the system to settle after the faults


class ChaosOptions(BaseModel):
    short: bool = False
    cases: int = 200
    minutes: float = 8.0  # the window of driving and faults; settling and checking come after
    seed: int = 20
    faults: FaultPlan

    @classmethod
    def for_mode(cls, short: bool, *, cases: int | None, minutes: float | None, seed: int | None) -> "ChaosOptions":
        if short:
            defaults = {"cases": 36, "minutes": 2.0}
        else:
            defaults = {"cases": 200, "minutes": 8.0}  # about 12.5 minutes in all on a busy 2-core machine
        chosen = {"cases": cases, "minutes": minutes, "seed": seed}
        values = {**defaults, **{key: value for key, value in chosen.items() if value is not None}}
        window = values["minutes"] * 60
        if short:
            faults = FaultPlan(worker_kills=5, api_kills=2, postgres_outage=20, temporal_restarts=1, webhook_failure=10)
        else:
            faults = FaultPlan(
                worker_kills=max(30, round(window / 20)),
                api_kills=max(6, round(window / 90)),
                postgres_outage=60,
                temporal_restarts=1,
                webhook_failure=45,
            )
        return cls(short=short, faults=faults, **values)


@dataclass
class ChaosOutcome:
    options: ChaosOptions
    drive: DriveLog
    faults: FaultLog
    findings: Findings
    phases: dict[str, float]  # phase -> seconds
    work_dir: Path


async def _intake_keys(stack: ChaosStack) -> dict[str, str]:
    return {
        "hotline": await stack.intake_key("HOTLINE-12345", "HOTLINE"),
        "open311": await stack.intake_key("OPEN311-CHAOS", "OPEN311"),
    }


async def _drive(driver: Driver, paths: list[str], window: float) -> None:
    """Report the cases over the first part of the window; every path is cut off at the window's end."""
    end = asyncio.get_running_loop().time() + window
    spacing = window * _REPORTING_SHARE / max(len(paths), 1)

    async def one(number: int, path: str) -> None:
        await asyncio.sleep(number * spacing)
        await driver.drive(number, path, until=end)

    await asyncio.gather(*(one(number, path) for number, path in enumerate(paths)))


async def _check(stack: ChaosStack, driver: Driver, receiver) -> Findings:
    findings = Findings()
    client, pool = stack.client, stack.pool
    # Checking queries every workflow several times: a worker that keeps them in memory answers far sooner.
    stack.worker.replaying = False
    await stack.worker.kill(signal.SIGTERM)
    await invariants.intake(findings, driver.log, pool)
    case_ids = await invariants.every_case(findings, client, pool, driver.log)
    workflows = invariants.case_workflows(case_ids) + await invariants.task_workflows(client)
    await invariants.unstuck(findings, client, workflows, within=_SETTLE_SECONDS)
    await invariants.projections(findings, client, pool, case_ids)
    await invariants.notifications(findings, pool, receiver, within=_SETTLE_SECONDS)
    await invariants.histories(findings, client, workflows)
    await stack.worker.stop()  # nothing moves any more: the two counts see the same cases
    await invariants.statistics_agree(findings, pool)
    invariants.processes(findings, stack.children())
    return findings


async def run(options: ChaosOptions) -> ChaosOutcome:
    phases: dict[str, float] = {}
    began = time.monotonic()

    def phase(name: str) -> None:
        nonlocal began
        phases[name] = time.monotonic() - began
        began = time.monotonic()

    rng = random.Random(options.seed)
    window = options.minutes * 60
    async with chaos_stack(keep=True) as stack, webhook_receiver() as receiver:
        await receiver.subscribe(stack.pool)
        driver = Driver(stack.client, stack.api_url, await _intake_keys(stack), rng)
        faults = Faults(stack, receiver, driver, options.faults, options.seed)
        phase("start")
        try:
            await asyncio.gather(_drive(driver, plan(options.cases, rng), window), faults.inject(window))
            phase("drive")
            findings = await _check(stack, driver, receiver)
            phase("check")
        finally:
            await driver.close()
        return ChaosOutcome(options, driver.log, faults.log, findings, phases, stack.work_dir)
