"""`whistle chaos --short`: 36 cases on every path through the API and the handlers' updates while the worker
is killed five times, the API killed mid-request, PostgreSQL stopped, the Temporal dev server restarted and
the webhook receiver failing; then every invariant holds for every case, and every history (cases and
department tasks) replays on today's code.

It supersedes the worker-crash test (kills around timer firings, every history replayed): the climbing cases
escalate on their demo-fast deadlines while workers die, and the replay is one of the invariants."""

import io
import shutil

from rich.console import Console

from bench.chaos import report, run
from bench.chaos.faults import (
    API_KILL,
    API_KILL_IDLE,
    POSTGRES_OUTAGE,
    TEMPORAL_RESTART,
    WEBHOOK_FAILURE,
    WORKER_KILL,
)


def _table(outcome: run.ChaosOutcome) -> str:
    console = Console(file=io.StringIO(), width=200)
    report.show(
        console,
        title="whistle chaos --short",
        drive=outcome.drive,
        faults=outcome.faults,
        findings=outcome.findings,
        phases=outcome.phases,
    )
    return console.file.getvalue()


async def test_nothing_is_lost_or_stuck_under_faults():
    options = run.ChaosOptions.for_mode(True, cases=None, minutes=None, seed=None)
    outcome = await run.run(options)
    table = _table(outcome)
    assert outcome.findings.total == 0, table

    faults, plan = outcome.faults.counts, options.faults
    assert faults[WORKER_KILL] == plan.worker_kills, table
    assert faults[API_KILL] + faults[API_KILL_IDLE] == plan.api_kills, table
    assert faults[POSTGRES_OUTAGE] == faults[TEMPORAL_RESTART] == faults[WEBHOOK_FAILURE] == 1, table

    checked = outcome.findings.checked
    assert checked["cases"] == len(outcome.drive.case_ids) >= options.cases, table
    assert checked["histories replayed"] > checked["cases"], table  # the department tasks' too
    assert checked["escalations by a deadline timer"] > 0, table  # timers fired while workers died
    assert checked["department tasks"] and checked["events"] and checked["notifications"], table
    assert checked["statistics compared"] and checked["intake answers"] >= 2 * options.cases, table
    shutil.rmtree(outcome.work_dir, ignore_errors=True)
