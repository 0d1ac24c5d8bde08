"""The Temporal Schedule that runs `RankingWorkflow`, created (or brought up to date) when a worker starts.

Configuration: `WHISTLE_RANKING_CRON` (default `0 1 1 * *`: 01:00 on the 1st, ranking the month just ended)
and `WHISTLE_RANKING_CADENCE` (`month` or `week`: which complete period a run ranks). Both the cron and the
periods are on the deployment's clock (WHISTLE_TIMEZONE), so a run fires after the local period has ended
and ranks that local period.
"""

import os
from datetime import timedelta

import structlog
from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.service import RPCError

from client.startup import StartupError
from i18n.zone import deployment_zone
from schemas.ranking import Cadence, RankingRun
from workflows.ranking import RankingWorkflow

log = structlog.get_logger(__name__)

SCHEDULE_ID = "whistle-rankings"
WORKFLOW_ID = "whistle-rankings"  # the server appends each run's scheduled time


class RankingSchedule(BaseModel):
    cron: str = "0 1 1 * *"
    cadence: Cadence = Cadence.MONTH
    zone: str = Field(default_factory=lambda: deployment_zone().key)

    @classmethod
    def from_env(cls) -> "RankingSchedule":
        values = {"cron": os.environ.get("WHISTLE_RANKING_CRON"), "cadence": os.environ.get("WHISTLE_RANKING_CADENCE")}
        return cls.model_validate({key: value for key, value in values.items() if value})

    def definition(self, task_queue: str) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                RankingWorkflow.run,
                RankingRun(cadence=self.cadence, zone=self.zone),
                id=WORKFLOW_ID,
                task_queue=task_queue,
            ),
            spec=ScheduleSpec(cron_expressions=[self.cron], time_zone_name=self.zone),
            # a worker that was down at the 1st still ranks the month when it is back within a week
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=7)),
        )


async def ensure_ranking_schedule(client: Client, task_queue: str, schedule: RankingSchedule | None = None) -> None:
    """Create the schedule, or update the existing one to this configuration: every start leaves exactly one."""
    schedule = schedule or RankingSchedule.from_env()
    definition = schedule.definition(task_queue)
    configured = {"schedule_id": SCHEDULE_ID, "cron": schedule.cron, "cadence": schedule.cadence, "zone": schedule.zone}
    try:
        try:
            await client.create_schedule(SCHEDULE_ID, definition)
            log.info("ranking schedule created", **configured)
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(SCHEDULE_ID).update(lambda _: ScheduleUpdate(schedule=definition))
            log.info("ranking schedule updated", **configured)
    except RPCError as error:
        raise StartupError(f"cannot create the ranking schedule ({schedule.cron!r}): {error.message}") from None
