"""挂起 over the HTTP API: the community asks, the street decides, the resident's answer resumes; a department
asks the district centre for its task; a refused pause says why and changes nothing."""

import jsonschema_rs

from tests.api.conftest import bearer
from tests.api.test_cases_api import act, report

DURATION = jsonschema_rs.validator_for({"type": "string", "format": "duration"}, validate_formats=True)


async def test_the_community_pauses_for_the_resident_who_answers(http, api_keys, categories):
    receipt = await report(http, next(categories))
    case_id, resident = receipt["case_id"], {"X-Case-Token": receipt["token"]}
    handler = f"/v1/handler/cases/{case_id}"
    up = await act(http, api_keys["property"], f"{handler}/whistle", {"reason": "needs the community"})
    assert up.json()["level"] == "COMMUNITY"
    refused = await act(http, api_keys["property"], f"{handler}/pause-request", {"reason": "RESIDENT"})
    assert refused.status_code == 403, refused.text
    bad = await act(http, api_keys["community"], f"{handler}/pause-request", {"reason": "BORED"})
    assert bad.status_code == 422 and "reason" in bad.text
    asked = await act(
        http, api_keys["community"], f"{handler}/pause-request", {"reason": "RESIDENT", "note": "nobody home"}
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["pause"]["decider"] == "HP-DF" and asked.json()["paused"] is False
    approved = await act(http, api_keys["street"], f"{handler}/pause-decision", {"approve": True, "reason": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["paused"] is True and approved.json()["deadline"] is None
    answered = await http.post(f"/v1/cases/{case_id}/answer", json={"text": "home after 6 pm"}, headers=resident)
    assert answered.status_code == 200, answered.text
    view = answered.json()
    assert view["paused"] is False and view["pauses"][0]["end"] == "RESIDENT" and view["deadline"] is not None
    # how long the clock stood still, in the `duration` format the schema declares (whole seconds: RFC 3339)
    assert DURATION.is_valid(view["stage"]["paused"]) and DURATION.is_valid(view["pauses"][0]["counted"]), view
    again = await http.post(f"/v1/cases/{case_id}/answer", json={"text": "hello?"}, headers=resident)
    assert again.status_code == 409 and "本案没有在等待居民答复" in again.text


async def test_a_department_pauses_its_task_and_the_centre_decides(http, api_keys, categories):
    case_id = (await report(http, next(categories)))["case_id"]
    handler = f"/v1/handler/cases/{case_id}"
    await act(http, api_keys["property"], f"{handler}/whistle", {"reason": "up"})
    await act(http, api_keys["community"], f"{handler}/whistle", {"reason": "up"})
    summoned = await act(
        http, api_keys["street"], f"{handler}/whistle", {"reason": "fire lane", "departments": {"lead": "XF"}}
    )
    assert summoned.status_code == 200, summoned.text
    task = f"/v1/department/tasks/{case_id}"
    assert (await act(http, api_keys["xf"], f"{task}/accept")).status_code == 200
    asked = await act(http, api_keys["xf"], f"{task}/pause-request", {"reason": "WEATHER"})
    assert asked.status_code == 200 and asked.json()["pause"]["decider"] == "HP-CENTRE", asked.text
    decided = await act(
        http,
        api_keys["centre"],
        f"/v1/supervisor/cases/{case_id}/tasks/XF/pause-decision",
        {"approve": True, "reason": "typhoon warning"},
    )
    assert decided.status_code == 200 and decided.json()["pause"]["started_at"] is not None, decided.text
    resumed = await act(http, api_keys["xf"], f"{task}/resume", {"note": "the wind dropped"})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["pause"] is None and resumed.json()["pauses"][0]["end"] == "HAND"
    assert (await http.get(task, headers=bearer(api_keys["xf"]))).json()["task"]["pauses"][0]["ended_by"] == "XF"
