"""The API speaks the request's language (Accept-Language; Chinese when none) with names, not codes, and gives
every time on the deployment's clock; the machine fields (`code`, pydantic's `type` and `loc`, enum values)
stay the same in every language."""

from datetime import datetime

from client.cases import view_case
from tests.api.conftest import COMPOUND, bearer

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


async def report(http, category: str) -> str:
    body = {"compound": COMPOUND, "category": category, "description": "楼道里堆满了杂物"}
    response = await http.post("/v1/cases", json=body)
    assert response.status_code == 201, response.text
    return response.json()["case_id"]


async def test_an_error_is_chinese_by_default_and_english_on_request_with_the_same_code(http, api_keys, categories):
    case_id = await report(http, next(categories))
    chinese = await http.post(f"/v1/handler/cases/{case_id}/accept", json={})
    english = await http.post(f"/v1/handler/cases/{case_id}/accept", json={}, headers=ENGLISH)
    assert chinese.status_code == english.status_code == 401
    assert chinese.json() == {"code": "unauthorized", "detail": "缺少 API 密钥：请发送 `Authorization: Bearer <key>`"}
    assert english.json() == {"code": "unauthorized", "detail": "missing API key: send `Authorization: Bearer <key>`"}

    unknown = "/v1/supervisor/cases/WH-20000101-000000"
    chinese = await http.get(unknown, headers=bearer(api_keys["centre"]))
    english = await http.get(unknown, headers=bearer(api_keys["centre"]) | ENGLISH)
    assert chinese.json() == {"code": "not_found", "detail": "案件 WH-20000101-000000 不存在"}
    assert english.json() == {"code": "not_found", "detail": "unknown case WH-20000101-000000"}


async def test_a_workflow_refusal_reads_in_the_language_with_names(http, api_keys, categories):
    case_id = await report(http, next(categories))
    resolve = f"/v1/handler/cases/{case_id}/resolve"
    early = {"json": {"summary": "已清理"}, "headers": bearer(api_keys["property"])}

    chinese = await http.post(resolve, **early)
    assert chinese.status_code == 409, chinese.text
    assert chinese.json() == {"code": "invalid_transition", "detail": "小区三方接单之前不能办结（请先接单）"}
    english = await http.post(resolve, json=early["json"], headers=early["headers"] | ENGLISH)
    assert english.json() == {
        "code": "invalid_transition",
        "detail": "cannot resolve before the case is accepted at compound council (accept first)",
    }

    accept = f"/v1/handler/cases/{case_id}/accept"
    stranger = await http.post(accept, json={}, headers=bearer(api_keys["other_property"]))
    assert stranger.status_code == 403
    assert stranger.json() == {
        "code": "forbidden",
        "detail": f"金地物业既不是案件 {case_id} 的参与方，也不管辖其所在区域",
    }
    street = await http.post(accept, json={}, headers=bearer(api_keys["street"]))  # over the area, not a party
    assert street.status_code == 403
    assert street.json() == {
        "code": "forbidden",
        "detail": "东风街道办事处不能在小区三方接单：只有小区三方中的一方可以",
    }


async def test_a_validation_error_is_chinese_keeping_pydantics_type_and_location(http):
    body = {"compound": COMPOUND, "category": "NOISE", "severity": "HUGE", "surprise": 1}
    response = await http.post("/v1/cases", json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == "invalid_request" and answer["message"].startswith("请求有误：")
    assert [(e["type"], e["loc"], e["msg"]) for e in answer["detail"]] == [
        ("enum", ["body", "severity"], "取值应为'ORDINARY', 'MAJOR'或'COMPLEX'"),
        ("missing", ["body", "description"], "必填"),
        ("extra_forbidden", ["body", "surprise"], "不允许提交多余的字段"),
    ]
    english = (await http.post("/v1/cases", json=body, headers=ENGLISH)).json()
    assert [e["msg"] for e in english["detail"]] == [
        "Input should be 'ORDINARY', 'MAJOR' or 'COMPLEX'",
        "Field required",
        "Extra inputs are not permitted",
    ]
    assert [(e["type"], e["loc"]) for e in english["detail"]] == [(e["type"], e["loc"]) for e in answer["detail"]]

    too_long = await http.post("/v1/cases", json={"compound": COMPOUND, "category": "NOISE", "description": "x" * 4001})
    assert too_long.json()["detail"][0]["msg"] == "最多可有 4000 个字符"
    naive = await http.get("/open311/v2/requests.json", params={"start_date": "2026-11-01T08:00:00"})
    assert "须为带时区偏移的日期时间" in naive.json()[0]["description"]


async def test_the_case_view_gives_its_times_on_the_deployments_clock(http, dev_env, api_keys, categories):
    case_id = await report(http, next(categories))
    view = (await http.get(f"/v1/supervisor/cases/{case_id}", headers=bearer(api_keys["centre"]))).json()
    recorded = await view_case(dev_env.client, case_id)  # the workflow's own view, in UTC

    times = {
        "reported_at": (view["reported_at"], recorded.reported_at),
        "deadline": (view["deadline"], recorded.deadline),
        "stage.entered_at": (view["stage"]["entered_at"], recorded.stage.entered_at),
        "stage.warning_at": (view["stage"]["warning_at"], recorded.stage.warning_at),
        "timeline[0].at": (view["timeline"][0]["at"], recorded.timeline[0].at),
    }
    for field, (shown, instant) in times.items():
        assert shown.endswith("+08:00"), (field, shown)
        assert datetime.fromisoformat(shown) == instant, field  # the same instant

    [request] = (await http.get(f"/open311/v2/requests/{case_id}.json")).json()
    assert request["requested_datetime"].endswith("+08:00")
    assert datetime.fromisoformat(request["requested_datetime"]) == recorded.reported_at.replace(microsecond=0)
