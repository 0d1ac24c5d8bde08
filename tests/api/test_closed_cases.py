"""A closed case outlives its workflow: once Temporal's namespace retention deletes the closed workflows of a
case (and of its department tasks), every audience reads from the read model exactly what it read before."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.cases import CaseActivities, kept_residents, kept_view
from client.cases import workflow_id
from schemas.case import CaseProjection, CaseView, EventKind, ReporterView, ResidentRole, TimelineEvent
from schemas.domain import Channel, Level, Severity, Status
from schemas.keys import Role
from schemas.task import task_workflow_id
from tests.api.conftest import COMPOUND, bearer
from tests.conftest import whistle_cli
from tests.people import person

WAIT = 30.0  # seconds a workflow may take to finish
DELETION_WAIT = 120.0  # the dev server deletes asynchronously (tests/conftest.py: a few seconds)
_FORM_KEY = re.compile(r'name="form_key" value="[0-9a-f]{32}"')


async def report(http: httpx.AsyncClient, category: str) -> dict:
    body = {"compound": COMPOUND, "category": category, "description": "楼道堆物", "reporter": {"phone": "13812345678"}}
    response = await http.post("/v1/cases", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def act(http: httpx.AsyncClient, key: str, path: str, body: dict | None = None) -> dict:
    response = await http.post(path, json=body or {}, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


async def close_satisfied(http: httpx.AsyncClient, case_id: str, token: str) -> None:
    feedback = {"satisfied": True, "score": 5, "comment": "谢谢"}
    response = await http.post(f"/v1/cases/{case_id}/feedback", json=feedback, headers={"X-Case-Token": token})
    assert response.status_code == 200 and response.json()["status"] == "CLOSED", response.text


async def until(probe, done, what: str, within: float = WAIT):
    """Poll `probe` until `done(result)`, within `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await probe()
        if done(result):
            return result
        assert asyncio.get_running_loop().time() < deadline, f"{what}: still {result}"
        await asyncio.sleep(0.05)


async def status_of(client: Client, workflow: str) -> WorkflowExecutionStatus | None:
    """The workflow's status, None once Temporal has no such workflow."""
    try:
        return (await client.get_workflow_handle(workflow).describe()).status
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def finished(client: Client, workflows: list[str]) -> None:
    for workflow in workflows:
        await until(lambda w=workflow: status_of(client, w), lambda s: s == WorkflowExecutionStatus.COMPLETED, workflow)


async def delete_workflows(client: Client, workflows: list[str]) -> None:
    """What the namespace retention does to closed workflows, now."""
    for workflow in workflows:
        execution = WorkflowExecution(workflow_id=workflow)
        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(namespace=client.namespace, workflow_execution=execution)
        )
    for workflow in workflows:
        await until(lambda w=workflow: status_of(client, w), lambda s: s is None, f"{workflow} deleted", DELETION_WAIT)


async def dashboard(http: httpx.AsyncClient, database_url: str) -> httpx.AsyncClient:
    """The client, signed in to the dashboard as a person of the district centre."""
    supervisor = await person(database_url, "HP-CENTRE", Role.SUPERVISOR)
    http.cookies.update(supervisor.cookies)
    return http


async def views(
    http: httpx.AsyncClient,
    dev_env,
    database_url: str,
    api_keys: dict[str, str],
    case_id: str,
    residents: dict[str, str],
    department: str | None = None,
) -> dict[str, object]:
    """Everything every audience reads of the case: API answers (status and JSON), CLI output, dashboard page."""

    async def get(path: str, headers: dict[str, str]) -> tuple[int, object]:
        response = await http.get(path, headers=headers)
        return response.status_code, response.json()

    seen: dict[str, object] = {
        f"resident {name}": await get(f"/v1/cases/{case_id}", {"X-Case-Token": token})
        for name, token in residents.items()
    }
    seen["handler"] = await get(f"/v1/handler/cases/{case_id}", bearer(api_keys["property"]))
    seen["supervisor"] = await get(f"/v1/supervisor/cases/{case_id}", bearer(api_keys["centre"]))
    seen["open311"] = await get(f"/open311/v2/requests/{case_id}.json", {})
    if department is not None:
        seen["department"] = await get(f"/v1/department/tasks/{case_id}", bearer(api_keys[department]))
    seen["cli --json"], seen["cli"] = await asyncio.gather(
        whistle_cli(dev_env, database_url, "case", "show", case_id, "--json"),
        whistle_cli(dev_env, database_url, "case", "show", case_id),
    )
    page = await http.get(f"/dashboard/cases/{case_id}")
    seen["dashboard"] = (page.status_code, _FORM_KEY.sub('name="form_key"', page.text))
    return seen


def assert_viewable(seen: dict[str, object], residents: dict[str, str]) -> None:
    for name in residents:
        assert seen[f"resident {name}"][0] == (403 if name == "stranger" else 200), seen[f"resident {name}"]
    for audience in ("handler", "supervisor", "open311", "department"):
        if audience in seen:
            assert seen[audience][0] == 200, seen[audience]
    assert seen["dashboard"][0] == 200


async def test_a_closed_council_case_reads_the_same_after_its_workflow_is_deleted(
    http, dev_env, database_url, api_keys, categories
):
    category = next(categories)
    receipt = await report(http, category)
    await until(
        lambda: http.get("/v1/supervisor/cases", params={"category": category}, headers=bearer(api_keys["centre"])),
        lambda r: [c["case_id"] for c in r.json()["items"]] == [receipt["case_id"]],
        "the case in the read model",
    )
    follower = await report(http, category)  # the same issue again: its reporter follows the first case
    assert follower["outcome"] == "LINKED" and follower["case_id"] == receipt["case_id"]
    case_id = receipt["case_id"]
    handler = f"/v1/handler/cases/{case_id}"
    await act(http, api_keys["property"], f"{handler}/accept", {"person": "李师傅"})
    await act(http, api_keys["property"], f"{handler}/resolve", {"summary": "堆物已清理"})
    signed = await act(http, api_keys["owners"], f"{handler}/signoff", {"agree": True, "comment": "已核实"})
    assert signed["status"] == "RESOLVED"
    await close_satisfied(http, case_id, receipt["token"])
    await dashboard(http, database_url)
    residents = {"reporter": receipt["token"], "follower": follower["token"], "stranger": "x" * 32}

    await finished(dev_env.client, [workflow_id(case_id)])
    before = await views(http, dev_env, database_url, api_keys, case_id, residents)
    assert_viewable(before, residents)
    assert before["resident follower"][1]["reporters"] == 2

    await delete_workflows(dev_env.client, [workflow_id(case_id)])
    after = await views(http, dev_env, database_url, api_keys, case_id, residents)
    assert after == before
    closed = after["supervisor"][1]
    assert closed["status"] == "CLOSED" and closed["timeline"][-1]["kind"] == "CLOSED"
    votes = [(e["actor"], e["details"]) for e in closed["timeline"] if e["kind"] == "SIGNED_OFF"]
    assert votes == [
        ("PM-LVYUAN", {"party": "PROPERTY_COMPANY"}),
        ("OC-HP-DF-QH-1", {"comment": "已核实", "party": "OWNERS_COMMITTEE"}),
    ]
    assert closed["reporter"] == {"name": None, "phone": "138****5678", "anonymous": False}
    unknown = await http.get("/v1/supervisor/cases/WH-20990101-999999", headers=bearer(api_keys["centre"]))
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert "WH-20990101-999999" in unknown.json()["detail"]


async def test_a_closed_district_case_and_its_department_task_read_the_same_after_their_workflows_are_deleted(
    http, dev_env, database_url, api_keys, categories
):
    receipt = await report(http, next(categories))
    case_id = receipt["case_id"]
    handler, task = f"/v1/handler/cases/{case_id}", f"/v1/department/tasks/{case_id}"
    await act(http, api_keys["property"], f"{handler}/whistle", {"reason": "需要社区协调"})
    await act(http, api_keys["community"], f"{handler}/whistle", {"reason": "需要街道吹哨"})
    await act(http, api_keys["street"], f"{handler}/whistle", {"reason": "消防隐患", "departments": {"lead": "XF"}})
    await act(http, api_keys["xf"], f"{task}/accept", {"person": "张队"})
    await act(http, api_keys["xf"], f"{task}/notes", {"text": "已到现场"})
    done = {"result": "已清理并处罚", "evidence_urls": ["https://example.org/after.jpg"]}
    assert (await act(http, api_keys["xf"], f"{task}/complete", done))["status"] == "COMPLETED"
    await until(
        lambda: http.get(f"/v1/cases/{case_id}", headers={"X-Case-Token": receipt["token"]}),
        lambda r: r.json()["status"] == "RESOLVED",
        "resolved by the department",
    )
    await close_satisfied(http, case_id, receipt["token"])
    await dashboard(http, database_url)
    residents = {"reporter": receipt["token"], "stranger": "y" * 32}
    workflows = [workflow_id(case_id), task_workflow_id(case_id, "XF")]
    await finished(dev_env.client, workflows)
    before = await views(http, dev_env, database_url, api_keys, case_id, residents, department="xf")
    assert_viewable(before, residents)

    await delete_workflows(dev_env.client, workflows)
    after = await views(http, dev_env, database_url, api_keys, case_id, residents, department="xf")
    assert after == before
    kept_task = after["department"][1]["task"]
    assert kept_task["status"] == "COMPLETED" and kept_task["evidence_urls"] == ["https://example.org/after.jpg"]
    assert [t["status"] for t in after["supervisor"][1]["tasks"]] == ["COMPLETED"]


def _case_at(seq: int, status: Status) -> CaseView:
    """The workflow's view after `seq` events (the timeline holds notes whose details have nested keys)."""
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    return CaseView(
        case_id="WH-20260301-000001",
        status=status,
        level=Level.COUNCIL,
        severity=Severity.ORDINARY,
        category="CORRIDOR_CLUTTER",
        channel=Channel.APP,
        district="HP",
        street="HP-DF",
        community="HP-DF-QH",
        compound=COMPOUND,
        owner="PM-LVYUAN",
        description="楼道堆物",
        reported_at=start,
        updated_at=start + timedelta(minutes=seq),
        last_seq=seq,
        reporter=ReporterView(phone="138****5678"),
        council={"PROPERTY_COMPANY": "PM-LVYUAN", "OWNERS_COMMITTEE": "OC-HP-DF-QH-1"},
        timeline=[
            TimelineEvent(
                seq=n,
                at=start + timedelta(minutes=n),
                kind=EventKind.NOTE,
                level=Level.COUNCIL,
                actor="PM-LVYUAN",
                details={"text": f"第{n}次", "person": {"phone": "138****5678", "name": "李*"}, "at": start},
            )
            for n in range(1, seq + 1)
        ],
    )


def _projection(view: CaseView, since: int, residents: dict[str, ResidentRole]) -> CaseProjection:
    """What the workflow sends: the events since the last projection, the view without its timeline."""
    return CaseProjection(
        summary=view,
        events=view.timeline[since:],
        view=view.model_copy(update={"timeline": []}),
        residents=residents,
    )


async def test_the_kept_copy_only_moves_forward_and_reads_back_exactly_as_the_workflow_answered(pool):
    activities = CaseActivities(pool)
    reporter, follower = {"a" * 64: ResidentRole.REPORTER}, {"b" * 64: ResidentRole.FOLLOWER}
    newer, older = _case_at(3, Status.IN_PROGRESS), _case_at(2, Status.REPORTED)
    await activities.project(_projection(newer, 0, reporter))
    await activities.project(_projection(older, 0, {**reporter, **follower}))  # a late retry of an older write
    kept = await kept_view(pool, newer.case_id)
    assert kept is not None and kept.model_dump_json() == newer.model_dump_json()  # key order included
    assert await kept_residents(pool, newer.case_id) == reporter

    closed = _case_at(5, Status.CLOSED)
    await activities.project(_projection(closed, 3, {**reporter, **follower}))
    kept = await kept_view(pool, closed.case_id)
    assert kept is not None and kept.model_dump_json() == closed.model_dump_json()
    assert list(kept.timeline[0].details) == ["at", "person", "text"]
    assert await kept_residents(pool, closed.case_id) == {**reporter, **follower}
    assert await kept_view(pool, "WH-20260301-000002") is None
