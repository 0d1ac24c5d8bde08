"""A scripted month of four cases driven through real workflows, with every figure it must produce known."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from i18n.zone import deployment_zone
from schemas.case import (
    Accept,
    Actor,
    Arrive,
    Feedback,
    Resolve,
    Signoff,
    Supervise,
    Whistle,
    Withdraw,
)
from schemas.ranking import RankingRun, RankingTable
from schemas.task import TaskAccept, TaskActor, TaskReturn, task_workflow_id
from tests.workflows.conftest import Harness
from workflows.case import CaseWorkflow
from workflows.department_task import DepartmentTaskWorkflow
from workflows.ranking import RankingWorkflow

CENTRE = Actor(org="HP-CENTRE")


@dataclass
class Scenario:
    task_queue: str  # where the scenario's worker keeps running for the module's tests
    started: datetime  # before the first report
    as_of: datetime  # after the last step
    sewer: str  # A: resolved at the council on time, satisfied first time (score 5)
    clutter: str  # B: whistled to the community, unsatisfied once (2), then satisfied (4)
    noise: str  # D: supervised, arrival missed, withdrawn
    fumes: str  # C: climbed every level on its deadlines, one department returned, left overdue at DISTRICT


async def run(harness: Harness) -> Scenario:
    started = await harness.env.get_current_time()
    sewer, sewer_token = await harness.report("HP-DF-QH-1", "SEWER_BLOCKAGE", description="drain blocked")
    clutter, clutter_token = await harness.report("HP-DF-QH-2", "CORRIDOR_CLUTTER")
    noise, noise_token = await harness.report("HP-DF-YL-1", "NOISE", description="karaoke at night")
    fumes, _ = await harness.report("HP-XH-MY-1", "COOKING_FUMES", description="restaurant fumes")

    await sewer.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org="PM-LVYUAN")))
    await clutter.execute_update(CaseWorkflow.whistle, Whistle(actor=Actor(org="PM-JINDI"), reason="owner refuses"))
    await clutter.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org="HP-DF-QH")))
    await clutter.execute_update(CaseWorkflow.resolve, Resolve(actor=Actor(org="HP-DF-QH"), summary="cleared"))
    await clutter.execute_update(CaseWorkflow.feedback, Feedback(token=clutter_token, satisfied=False, score=2))
    await clutter.execute_update(CaseWorkflow.accept, Accept(actor=Actor(org="HP-DF-QH")))
    await clutter.execute_update(CaseWorkflow.resolve, Resolve(actor=Actor(org="HP-DF-QH"), summary="all gone"))
    await clutter.execute_update(CaseWorkflow.feedback, Feedback(token=clutter_token, satisfied=True, score=4))
    await noise.execute_update(CaseWorkflow.supervise, Supervise(actor=CENTRE, reason="repeated complaints"))

    await harness.env.sleep(timedelta(minutes=3))
    await sewer.execute_update(CaseWorkflow.arrive, Arrive(actor=Actor(org="PM-LVYUAN")))
    await sewer.execute_update(CaseWorkflow.resolve, Resolve(actor=Actor(org="PM-LVYUAN"), summary="pipe cleared"))
    await sewer.execute_update(CaseWorkflow.signoff, Signoff(actor=Actor(org="OC-HP-DF-QH-1"), agree=True))
    await sewer.execute_update(CaseWorkflow.feedback, Feedback(token=sewer_token, satisfied=True, score=5))

    await harness.env.sleep(timedelta(minutes=3))  # the noise case's 5-minute arrival passes
    await noise.execute_update(CaseWorkflow.withdraw, Withdraw(token=noise_token, reason="it stopped"))

    # the fumes case climbs COUNCIL -> COMMUNITY -> STREET -> DISTRICT on its deadlines (30 min, 4 h, 1 day)
    await harness.env.sleep(timedelta(days=1, hours=5))
    case_id = fumes.id.removeprefix("case-")
    hb = harness.client.get_workflow_handle(task_workflow_id(case_id, "HB"))
    await hb.execute_update(
        DepartmentTaskWorkflow.return_task, TaskReturn(actor=TaskActor(department="HB"), reason="not ecology")
    )
    await harness.env.sleep(timedelta(minutes=30))
    cgzf = harness.client.get_workflow_handle(task_workflow_id(case_id, "CGZF"))
    await cgzf.execute_update(DepartmentTaskWorkflow.accept, TaskAccept(actor=TaskActor(department="CGZF")))
    # CGZF never completes (work overdue after 2 days); the street never reroutes HB's return (1 day);
    # DISTRICT's 3-day deadline passes.
    await harness.env.sleep(timedelta(days=4))
    return Scenario(
        task_queue=harness.task_queue,
        started=started,
        as_of=await harness.env.get_current_time(),
        sewer=sewer.id.removeprefix("case-"),
        clutter=clutter.id.removeprefix("case-"),
        noise=noise.id.removeprefix("case-"),
        fumes=case_id,
    )


async def rank(time_env, scripted, period: str) -> tuple[RankingTable, object]:
    """Run the ranking workflow; without skipping time while waiting, which would time out the scenario's
    open cases (their next deadline is the ten-year workflow timeout)."""
    handle = await time_env.client.start_workflow(
        RankingWorkflow.run,
        RankingRun(period=period, zone=deployment_zone().key),
        id=f"rankings-{uuid.uuid4()}",
        task_queue=scripted.task_queue,
    )
    with time_env.auto_time_skipping_disabled():
        return await handle.result(), handle
