"""What the workflow tests share: who acts for the demo compound HP-DF-QH-1 up its ladder, what a case's
timeline shows, and replaying the histories recorded with earlier code."""

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from schemas.case import Actor, EventKind
from workers.worker import WORKFLOWS

OWNERS = Actor(org="OC-HP-DF-QH-1")
COMMUNITY = Actor(org="HP-DF-QH")
STREET = Actor(org="HP-DF")
CENTRE = Actor(org="HP-CENTRE")
HISTORIES = Path(__file__).parent / "histories"


def kinds(view) -> list[EventKind]:
    return [event.kind for event in view.timeline]


async def replays(recorded: str) -> None:
    """The history `histories/<recorded>.json` replays on today's workflows without a nondeterminism error."""
    history = WorkflowHistory.from_json(recorded, (HISTORIES / f"{recorded}.json").read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history, raise_on_replay_failure=True)
