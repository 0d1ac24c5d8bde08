"""Driving cases through the HTTP API: residents, council, community, street, departments, supervisors."""

import uuid

import httpx
import pytest

from api import keys
from tests.api.conftest import COMPOUND, bearer
from tests.waiting import HTTP_TIMEOUT, eventually


async def report(http: httpx.AsyncClient, category: str, **fields) -> dict:
    body = {"compound": COMPOUND, "category": category, "description": "water everywhere", **fields}
    response = await http.post("/v1/cases", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def act(http: httpx.AsyncClient, key: str, path: str, body: dict | None = None, language: str | None = None):
    headers = bearer(key) | ({"Accept-Language": language} if language else {})
    return http.post(path, json=body or {}, headers=headers)


async def test_resident_reports_council_resolves_with_quorum_resident_satisfied(http, api_keys, categories):
    receipt = await report(http, next(categories), reporter={"name": "王芳", "phone": "13812345678"})
    assert receipt["outcome"] == "CREATED" and len(receipt["token"]) >= 16
    case_id, resident = receipt["case_id"], {"X-Case-Token": receipt["token"]}
    handler = f"/v1/handler/cases/{case_id}"

    inbox = await eventually(
        lambda: http.get("/v1/handler/inbox", headers=bearer(api_keys["owners"])),
        lambda r: case_id in [c["case_id"] for c in r.json()["items"]],
    )
    assert inbox.status_code == 200
    accepted = await act(http, api_keys["property"], f"{handler}/accept", {"person": "李师傅"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "IN_PROGRESS" and accepted.json()["stage"]["accepted_by"] == "PM-LVYUAN"
    assert (await act(http, api_keys["property"], f"{handler}/arrive", {"note": "on site"})).status_code == 200
    proposed = await act(http, api_keys["property"], f"{handler}/resolve", {"summary": "drain cleared"})
    assert proposed.json()["status"] == "IN_PROGRESS" and proposed.json()["proposal"]["by"] == "PM-LVYUAN"
    signed = await act(http, api_keys["owners"], f"{handler}/signoff", {"agree": True, "comment": "checked"})
    assert signed.status_code == 200 and signed.json()["status"] == "RESOLVED"
    assert signed.json()["resolved_level"] == "COUNCIL"

    mine = await http.get(f"/v1/cases/{case_id}", headers=resident)
    assert mine.status_code == 200 and mine.json()["status"] == "RESOLVED"
    assert mine.json()["reporter"] == {"name": "王*", "phone": "138****5678", "anonymous": False}
    closed = await http.post(f"/v1/cases/{case_id}/feedback", json={"satisfied": True, "score": 5}, headers=resident)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "CLOSED" and closed.json()["close_reason"] == "SATISFIED"
    assert closed.json()["first_time_satisfied"] is True


async def test_whistled_up_to_the_district_where_a_department_completes(http, api_keys, categories):
    receipt = await report(http, next(categories))
    case_id = receipt["case_id"]
    handler = f"/v1/handler/cases/{case_id}"
    up = await act(http, api_keys["property"], f"{handler}/whistle", {"reason": "needs the community"})
    assert up.json()["level"] == "COMMUNITY" and up.json()["owner"] == "HP-DF-QH"
    up = await act(http, api_keys["community"], f"{handler}/whistle", {"reason": "needs the street"})
    assert up.json()["level"] == "STREET"
    summons = {"reason": "fire risk", "departments": {"lead": "XF"}}
    up = await act(http, api_keys["street"], f"{handler}/whistle", summons)
    assert up.status_code == 200, up.text
    assert up.json()["level"] == "DISTRICT" and up.json()["owner"] == "HP-CENTRE"

    tasks = await eventually(
        lambda: http.get("/v1/department/tasks", headers=bearer(api_keys["xf"])),
        lambda r: case_id in [t["case_id"] for t in r.json()],
    )
    assert [t["status"] for t in tasks.json() if t["case_id"] == case_id] == ["SUMMONED"]
    detail = await http.get(f"/v1/department/tasks/{case_id}", headers=bearer(api_keys["xf"]))
    assert detail.status_code == 200 and detail.json()["case"]["description"] == "water everywhere"
    task = f"/v1/department/tasks/{case_id}"
    accepted = await act(http, api_keys["xf"], f"{task}/accept", {"person": "张队"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "ACCEPTED"
    assert (await act(http, api_keys["xf"], f"{task}/notes", {"text": "inspected"})).status_code == 200
    done = await act(http, api_keys["xf"], f"{task}/complete", {"result": "cleared and fined"})
    assert done.status_code == 200 and done.json()["status"] == "COMPLETED"

    view = await eventually(
        lambda: http.get(f"/v1/supervisor/cases/{case_id}", headers=bearer(api_keys["centre"])),
        lambda r: r.json()["status"] == "RESOLVED",
    )
    assert view.json()["resolved_level"] == "DISTRICT" and view.json()["whistles"] == 3
    page = await eventually(
        lambda: http.get("/v1/supervisor/cases", params={"level": "DISTRICT"}, headers=bearer(api_keys["centre"])),
        lambda r: case_id in [c["case_id"] for c in r.json()["items"]],
    )
    assert all(c["level"] == "DISTRICT" for c in page.json()["items"])


async def test_errors_say_what_is_wrong(http, api_keys, categories):
    """In English here (Accept-Language: en), for the words; each error's `code` is the same in any language."""
    receipt = await report(http, next(categories))
    case_id = receipt["case_id"]
    accept = f"/v1/handler/cases/{case_id}/accept"

    missing = await http.post(accept, json={}, headers={"Accept-Language": "en"})
    assert missing.status_code == 401 and "missing API key" in missing.json()["detail"]
    assert missing.json()["code"] == "unauthorized"
    bad = await act(http, "whk_00000000_nonsense", accept)
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"

    no_right = await act(http, api_keys["xf"], accept, language="en")
    assert no_right.status_code == 403 and "lacks the HANDLE right" in no_right.json()["detail"]
    wrong_org = await act(http, api_keys["other_property"], accept, language="en")
    assert wrong_org.status_code == 403 and wrong_org.json()["code"] == "forbidden"
    assert "Jindi Property is neither a participant" in wrong_org.json()["detail"]  # names, not codes
    stranger = await http.get(f"/v1/handler/cases/{case_id}", headers=bearer(api_keys["other_property"]))
    assert stranger.status_code == 403
    not_mine = await http.get(f"/v1/cases/{case_id}", headers={"X-Case-Token": "x" * 32})
    assert not_mine.status_code == 403

    resolve = f"/v1/handler/cases/{case_id}/resolve"
    early = await act(http, api_keys["property"], resolve, {"summary": "done"}, language="en")
    assert early.status_code == 409 and "accept first" in early.json()["detail"]
    assert early.json()["code"] == "invalid_transition"
    assert (await act(http, api_keys["property"], accept)).status_code == 200
    again = await act(http, api_keys["property"], accept, language="en")
    assert again.status_code == 409 and "already accepted" in again.json()["detail"]

    malformed = await act(http, api_keys["property"], f"/v1/handler/cases/{case_id}/notes", {"text": ""})
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["body", "text"]
    nul = await act(http, api_keys["property"], f"/v1/handler/cases/{case_id}/notes", {"text": "a\u0000b"})
    assert nul.status_code == 422 and nul.json()["detail"][0]["loc"] == ["body", "text"]
    spoofed = await act(http, api_keys["property"], f"/v1/handler/cases/{case_id}/notes", {"text": "hi", "actor": {}})
    assert spoofed.status_code == 422 and spoofed.json()["detail"][0]["loc"] == ["body", "actor"]
    bad_id = await act(http, api_keys["property"], "/v1/handler/cases/not-a-case/accept")
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["loc"] == ["path", "case_id"]
    unknown_compound = await http.post("/v1/cases", json={"compound": "NOPE", "category": "NOISE", "description": "x"})
    assert unknown_compound.status_code == 422
    assert unknown_compound.json()["detail"][0]["loc"] == ["body", "compound"]
    unknown_category = await http.post("/v1/cases", json={"compound": COMPOUND, "category": "NOPE", "description": "x"})
    assert unknown_category.json()["detail"][0]["loc"] == ["body", "category"]

    unknown = "WH-20000101-000000"
    assert (await act(http, api_keys["property"], f"/v1/handler/cases/{unknown}/accept")).status_code == 404
    assert (await http.get(f"/v1/supervisor/cases/{unknown}", headers=bearer(api_keys["centre"]))).status_code == 404
    no_task = await http.get(f"/v1/department/tasks/{case_id}", headers=bearer(api_keys["xf"]))
    assert no_task.status_code == 403  # a department without a task on the case takes no part in it

    view = await http.get(f"/v1/handler/cases/{case_id}", headers=bearer(api_keys["owners"]))
    assert [event["kind"] for event in view.json()["timeline"]] == [
        "REPORTED",
        "ACCEPTED",
    ]  # rejections changed nothing


async def test_same_idempotency_key_gives_one_case(http, categories, pool):
    body = {"compound": COMPOUND, "category": next(categories), "description": "lift stuck"}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await http.post("/v1/cases", json=body, headers=headers)
    second = await http.post("/v1/cases", json=body, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["case_id"] == second.json()["case_id"]
    assert first.json()["outcome"] == "CREATED" and second.json()["outcome"] == "EXISTING"
    assert second.json()["case_id"] == first.json()["case_id"]
    for answer in (first, second):  # the second answer's token serves a caller who never saw the first
        case = await http.get(f"/v1/cases/{answer.json()['case_id']}", headers={"X-Case-Token": answer.json()["token"]})
        assert case.status_code == 200, case.text
    await eventually(
        lambda: pool.fetchval("SELECT count(*) FROM cases WHERE category = $1", body["category"]), lambda n: n == 1
    )


async def test_an_action_retried_with_its_idempotency_key_is_applied_once(http, api_keys, categories):
    case_id = (await report(http, next(categories)))["case_id"]
    notes = f"/v1/handler/cases/{case_id}/notes"
    note = {"text": "called the plumber"}
    retried = {**bearer(api_keys["property"]), "Idempotency-Key": str(uuid.uuid4())}

    first = await http.post(notes, json=note, headers=retried)
    again = await http.post(notes, json=note, headers=retried)  # e.g. the first answer was lost on the way
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert [e["kind"] for e in again.json()["timeline"]].count("NOTE") == 1

    # the same key from another organisation, or for another action, is a request of its own
    by_owners = await http.post(notes, json=note, headers={**retried, **bearer(api_keys["owners"])})
    assert [e["kind"] for e in by_owners.json()["timeline"]].count("NOTE") == 2
    accepted = await http.post(f"/v1/handler/cases/{case_id}/accept", json={}, headers=retried)
    assert accepted.status_code == 200 and accepted.json()["status"] == "IN_PROGRESS"
    bad_key = await http.post(notes, json=note, headers={**retried, "Idempotency-Key": "has spaces"})
    assert bad_key.status_code == 422


async def test_channels_come_from_intake_keys(http, api_keys, categories):
    ticket = {"compound": COMPOUND, "category": next(categories), "description": "noise at night", "external_id": "T-1"}
    assert (await http.post("/v1/cases", json=ticket)).status_code == 403  # tickets come from the hotline
    as_hotline = await http.post("/v1/cases", json=ticket, headers=bearer(api_keys["hotline"]))
    assert as_hotline.status_code == 201
    view = await http.get(
        f"/v1/cases/{as_hotline.json()['case_id']}", headers={"X-Case-Token": as_hotline.json()["token"]}
    )
    assert view.json()["channel"] == "HOTLINE" and view.json()["external_id"] == "T-1"
    english = {"Accept-Language": "en"}
    mislabelled = await http.post(
        "/v1/cases", json={**ticket, "channel": "GRID"}, headers=bearer(api_keys["hotline"]) | english
    )
    assert mislabelled.status_code == 403 and "through grid patrol" in mislabelled.json()["detail"]
    handler_reporting = await http.post("/v1/cases", json=ticket, headers=bearer(api_keys["street"]) | english)
    assert handler_reporting.status_code == 403 and "REPORT right" in handler_reporting.json()["detail"]


async def test_revoked_key_is_refused(http, database_url):
    from activities.db import connect

    connection = await connect(database_url)
    try:
        issued = await keys.issue(connection, "HP-XH", keys.Role.STREET)
        assert (await http.get("/v1/handler/inbox", headers=bearer(issued.key))).status_code == 200
        await keys.revoke(connection, issued.info.key_id)
    finally:
        await connection.close()
    assert (await http.get("/v1/handler/inbox", headers=bearer(issued.key))).status_code == 401


@pytest.mark.parametrize("down", ["temporal", "postgres"])
async def test_unreachable_dependency_is_503(dev_env, database_url, api_keys, down):
    from api.app import create_app
    from tests.api.conftest import settings_for

    settings = settings_for(dev_env, database_url, "unused")
    if down == "temporal":
        settings = settings.model_copy(update={"temporal_address": "127.0.0.1:9"})
    else:
        settings = settings.model_copy(update={"database_url": "postgresql://whistle@127.0.0.1:9/whistle"})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            timeout=HTTP_TIMEOUT, transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await http.get("/v1/handler/cases/WH-20000101-000000", headers=bearer(api_keys["centre"]))
    assert response.status_code == 503
    assert ("Temporal" if down == "temporal" else "PostgreSQL") in response.json()["detail"]
