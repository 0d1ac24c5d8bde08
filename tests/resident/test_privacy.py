"""The reporter's name and phone stay in the workflow: never in a log line, a read-model table or a webhook."""

from client import cases
from schemas.case import Accept, Feedback, Reporter, Resolve, Whistle
from tests.resident.conftest import COMMUNITY, NAME, PHONE, PROPERTY, REPORTER
from tests.resident.test_intake import hotline, report
from tests.waiting import eventually, projected
from workflows.case import CaseWorkflow


async def test_a_whole_case_leaves_no_phone_number_behind(resident, pool, delivery, log_lines):
    delivery()
    handle, token = await resident.report(compound="HP-DF-QH-1", category="NOISE", reporter=REPORTER)
    case_id = handle.id.removeprefix("case-")
    await projected(pool, await resident.view(handle))
    follower = await report(resident, hotline("12345-0100", "HP-DF-QH-1", reporter=Reporter(name=NAME, phone=PHONE)))
    assert follower.outcome is cases.IntakeOutcome.LINKED
    await handle.execute_update(CaseWorkflow.whistle, Whistle(actor=PROPERTY, reason="a matter for the community"))
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=COMMUNITY))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=COMMUNITY, summary="spoke to the neighbour"))
    await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=False, score=2))
    await handle.execute_update(CaseWorkflow.accept, Accept(actor=COMMUNITY))
    await handle.execute_update(CaseWorkflow.resolve, Resolve(actor=COMMUNITY, summary="quiet hours agreed"))
    view = await handle.execute_update(CaseWorkflow.feedback, Feedback(token=token, satisfied=True, score=4))
    assert view.reporter.phone == "138****5678" and view.reporters == 2
    await projected(pool, view)

    async def all_delivered() -> bool:
        return not await pool.fetchval(
            "SELECT count(*) FROM notifications WHERE case_id = $1 AND delivered_at IS NULL", case_id
        )

    await eventually(all_delivered, what="every notification of the case delivered")

    # The reporter's details were really there: the workflow's input keeps them (Temporal only).
    history = await handle.fetch_history()
    assert PHONE in str(history.events[0].workflow_execution_started_event_attributes.input)

    assert any(case_id in line and '"notification"' in line for line in log_lines), "the capture saw nothing"
    assert not [line for line in log_lines if PHONE in line or NAME in line]
    tables = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    assert {"cases", "case_events", "notifications"} <= {t["tablename"] for t in tables}
    for table in tables:
        dump = await pool.fetchval(f"SELECT coalesce(string_agg(t::text, ' '), '') FROM \"{table['tablename']}\" t")
        assert PHONE not in dump and NAME not in dump, f"reporter details in table {table['tablename']}"
