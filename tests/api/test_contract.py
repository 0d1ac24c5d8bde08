"""The API's answers are the ones its OpenAPI schema promises: strict date-times, and every 422 the field-level
list of `HTTPValidationError`, wherever the refusal comes from (FastAPI, the registry, a workflow validator)."""

import pytest

from tests.api.conftest import COMPOUND, bearer

NOT_DATETIMES = ["0.5", "1700000000", "2026-11-22", "09:30:00", "2026-11-22T09:30Z", "2026-11-22T09:30:00"]


def assert_field_errors(response, location: list) -> None:
    """422 with `{"detail": [{"type", "loc", "msg"}, ...]}`, the first error at `location`."""
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert isinstance(errors, list) and errors, errors
    assert all(set(error) == {"type", "loc", "msg"} for error in errors), errors
    assert errors[0]["loc"] == location, errors


@pytest.mark.parametrize("value", NOT_DATETIMES)
async def test_v1_datetime_parameters_refuse_numbers_and_partial_times(http, api_keys, value):
    statistics = await http.get(
        "/v1/supervisor/statistics", params={"until": value}, headers=bearer(api_keys["centre"])
    )
    assert_field_errors(statistics, ["query", "until"])
    inbox = await http.get("/v1/handler/inbox", params={"reported_from": value}, headers=bearer(api_keys["street"]))
    assert_field_errors(inbox, ["query", "reported_from"])


@pytest.mark.parametrize("value", NOT_DATETIMES)
async def test_open311_datetime_parameters_refuse_numbers_and_partial_times(http, value):
    response = await http.get("/open311/v2/requests.json", params={"start_date": value})
    assert response.status_code == 400, response.text
    [error] = response.json()
    assert error["code"] == 400 and "start_date" in error["description"]


async def test_datetimes_with_an_offset_are_taken(http, api_keys):
    period = {"since": "2026-11-01T00:00:00+08:00", "until": "2026-11-22T09:30:00.5Z"}
    statistics = await http.get("/v1/supervisor/statistics", params=period, headers=bearer(api_keys["centre"]))
    assert statistics.status_code == 200, statistics.text
    assert statistics.json()["query"]["since"] == "2026-11-01T00:00:00+08:00"  # the instant, on the deployment's clock
    open311 = await http.get("/open311/v2/requests.json", params={"start_date": "2026-11-01T00:00:00+08:00"})
    assert open311.status_code == 200, open311.text


async def test_a_period_past_the_calendar_is_a_400_not_a_500(http):
    response = await http.get(
        "/open311/v2/requests.json", params={"start_date": "9999-12-31T00:00:00Z"}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 400 and "90-day" in response.json()[0]["description"]


async def test_a_workflow_validators_refusal_is_a_field_error_list(http, api_keys, categories):
    reported = await http.post(
        "/v1/cases", json={"compound": COMPOUND, "category": next(categories), "description": "lift stuck"}
    )
    case_id = reported.json()["case_id"]
    whistle = {"reason": "we cannot fix it", "departments": {"lead": "XF"}}  # only a street names departments
    refused = await http.post(
        f"/v1/handler/cases/{case_id}/whistle", json=whistle, headers=bearer(api_keys["property"])
    )
    assert_field_errors(refused, ["body"])
    assert refused.json()["detail"][0]["msg"] == "只有街道吹哨时才能指定召集的部门"  # in Chinese, by default


async def test_rankings_period_and_unreadable_bodies_are_field_error_lists(http, api_keys):
    period = await http.get("/v1/supervisor/rankings", params={"period": "2026-13"}, headers=bearer(api_keys["centre"]))
    assert_field_errors(period, ["query", "period"])
    unreadable = await http.post("/v1/cases", content=b"b\xe9", headers={"Content-Type": "application/json"})
    assert_field_errors(unreadable, ["body"])
