"""Open311 GeoReport v2: services, definitions, POST and GET requests, and errors, as the spec says."""

import re
from datetime import UTC, datetime, timedelta

from tests.api.conftest import COMPOUND, bearer
from tests.waiting import eventually

W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")


def is_error(response, status: int) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and isinstance(body, list)
        and all(set(error) == {"code", "description"} and error["description"] for error in body)
    )


async def test_service_list_and_definitions(http):
    services = await http.get("/open311/v2/services.json")
    assert services.status_code == 200 and services.headers["content-type"].startswith("application/json")
    by_code = {service["service_code"]: service for service in services.json()}
    sewer = by_code["SEWER_BLOCKAGE"]
    assert sewer["metadata"] is True and sewer["type"] == "realtime"
    assert sewer["keywords"] == "sewer, drain" and sewer["group"] == "区水务局"
    assert sewer["service_name"] == "下水道堵塞"  # names in the request's language: Chinese by default

    definition = await http.get("/open311/v2/services/SEWER_BLOCKAGE.json")
    assert definition.status_code == 200
    attributes = {a["code"]: a for a in definition.json()["attributes"]}
    assert definition.json()["service_code"] == "SEWER_BLOCKAGE"
    # not required: lat/long inside a compound's boundary place a request as well
    assert attributes["compound"]["required"] is False and attributes["compound"]["datatype"] == "singlevaluelist"
    assert COMPOUND in [value["key"] for value in attributes["compound"]["values"]]
    assert attributes["severity"]["required"] is False
    assert [v["key"] for v in attributes["severity"]["values"]] == ["ORDINARY", "MAJOR", "COMPLEX"]
    assert sorted(a["order"] for a in attributes.values()) == [1, 2]

    assert is_error(await http.get("/open311/v2/services/NOPE.json"), 404)
    assert is_error(await http.get("/open311/v2/services/%00.json"), 404)
    assert is_error(await http.get("/open311/v2/services.json", params={"jurisdiction_id": "nowhere"}), 404)
    assert (await http.get("/open311/v2/services.json", params={"jurisdiction_id": "HP"})).status_code == 200


async def test_post_then_get_by_id_and_filtered(http, api_keys, categories):
    code = next(categories)
    form = {
        "api_key": api_keys["open311"],
        "service_code": code,
        "lat": "39.1234",
        "long": "117.2",
        "address_string": "Building 3, Sunshine compound",
        "first_name": "Fang",
        "last_name": "Wang",
        "phone": "13812345678",
        "description": "drain overflowing into the yard",
        "media_url": "https://photos.example/1.jpg",
        "attribute[compound]": COMPOUND,
        "attribute[severity]": "MAJOR",
        "attribute[unknown]": "ignored",
    }
    created = await http.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 200, created.text
    [receipt] = created.json()
    request_id = receipt["service_request_id"]
    assert re.fullmatch(r"WH-\d{8}-\d{6}", request_id) and receipt["service_notice"] and receipt["account_id"] is None

    by_id = await http.get(f"/open311/v2/requests/{request_id}.json")
    assert by_id.status_code == 200, by_id.text
    [request] = by_id.json()
    assert request["service_request_id"] == request_id and request["service_code"] == code
    assert request["status"] == "open" and request["agency_responsible"] == "绿苑物业"
    assert request["description"] == "drain overflowing into the yard"
    assert (request["lat"], request["long"]) == (39.1234, 117.2)
    assert request["address"] == "Building 3, Sunshine compound"
    assert request["media_url"] == "https://photos.example/1.jpg"
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(request[field]), request[field]
    view = await http.get(f"/v1/supervisor/cases/{request_id}", headers=bearer(api_keys["centre"]))
    assert view.json()["severity"] == "MAJOR" and view.json()["channel"] == "OPEN311"
    assert view.json()["reporter"]["phone"] == "138****5678"
    assert request["expected_datetime"].startswith(view.json()["deadline"][:19])

    listed = await eventually(
        lambda: http.get("/open311/v2/requests.json", params={"service_code": code, "status": "open"}),
        lambda r: [q["service_request_id"] for q in r.json()] == [request_id],
    )
    assert listed.json()[0]["status"] == "open"
    closed_only = await http.get("/open311/v2/requests.json", params={"service_code": code, "status": "closed"})
    assert closed_only.json() == []
    by_ids = await http.get(
        "/open311/v2/requests.json", params={"service_request_id": f"{request_id},WH-20000101-000000"}
    )
    assert [q["service_request_id"] for q in by_ids.json()] == [request_id]
    now = datetime.now(UTC)
    in_range = await http.get(
        "/open311/v2/requests.json",
        params={"service_code": code, "start_date": (now - timedelta(days=1)).isoformat(), "end_date": now.isoformat()},
    )
    assert [q["service_request_id"] for q in in_range.json()] == [request_id]
    before = await http.get(
        "/open311/v2/requests.json",
        params={"service_code": code, "end_date": (now - timedelta(days=1)).isoformat()},
    )
    assert before.json() == []


async def test_request_errors(http, api_keys, categories):
    form = {"service_code": next(categories), "lat": "39.1", "long": "117.2", "attribute[compound]": COMPOUND}
    assert is_error(await http.post("/open311/v2/requests.json", data=form), 403)  # no api_key
    assert is_error(await http.post("/open311/v2/requests.json", data={**form, "api_key": "bogus"}), 403)
    keyed = {**form, "api_key": api_keys["open311"]}
    assert is_error(await http.post("/open311/v2/requests.json", data={**keyed, "service_code": "NOPE"}), 404)
    no_place = {k: v for k, v in keyed.items() if k not in ("lat", "long")}
    assert is_error(await http.post("/open311/v2/requests.json", data=no_place), 400)
    no_compound = {k: v for k, v in keyed.items() if k != "attribute[compound]"}
    response = await http.post("/open311/v2/requests.json", data=no_compound)
    assert is_error(response, 400) and "attribute[compound]" in response.json()[0]["description"]
    long_text = await http.post("/open311/v2/requests.json", data={**keyed, "description": "x" * 4001})
    assert is_error(long_text, 400) and "description" in long_text.json()[0]["description"]
    bad_lat = await http.post("/open311/v2/requests.json", data={**keyed, "lat": "north"})
    assert is_error(bad_lat, 400)

    assert is_error(await http.get("/open311/v2/requests/WH-20000101-000000.json"), 404)
    assert is_error(await http.get("/open311/v2/requests/anything.json"), 404)
    too_long = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}
    response = await http.get("/open311/v2/requests.json", params=too_long, headers={"Accept-Language": "en"})
    assert is_error(response, 400) and "90 days" in response.json()[0]["description"]
    assert is_error(await http.get("/open311/v2/requests.json", params={"status": "pending"}), 400)
    naive = await http.get("/open311/v2/requests.json", params={"start_date": "2026-01-01T00:00:00"})
    assert is_error(naive, 400)


async def test_address_string_alone_places_the_request(http, api_keys, categories):
    form = {
        "api_key": api_keys["open311"],
        "service_code": next(categories),
        "address_string": "Gate 2",
        "attribute[compound]": COMPOUND,
    }
    created = await http.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 200, created.text
    [request] = (await http.get(f"/open311/v2/requests/{created.json()[0]['service_request_id']}.json")).json()
    assert "位置：Gate 2" in request["description"] and request["lat"] is None  # in the reporter's language


async def test_lat_long_alone_route_the_request_to_the_compound_containing_them(http, api_keys, categories):
    form = {
        "api_key": api_keys["open311"],
        "service_code": next(categories),
        "lat": "39.1211",  # inside 和谐家园 HP-DF-QH-2 (demo boundaries)
        "long": "117.2055",
        "address_string": "by the bike shed",
        "description": "lights out on the path",
    }
    created = await http.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 200, created.text
    case_id = created.json()[0]["service_request_id"]
    [request] = (await http.get(f"/open311/v2/requests/{case_id}.json")).json()
    assert (request["lat"], request["long"], request["address"]) == (39.1211, 117.2055, "by the bike shed")
    assert request["agency_responsible"] == "金地物业"  # the property company of HP-DF-QH-2
    view = await http.get(f"/v1/supervisor/cases/{case_id}", headers=bearer(api_keys["centre"]))
    assert view.json()["compound"] == "HP-DF-QH-2" and view.json()["description"] == "lights out on the path"

    # the street between the two compounds of 青华社区: in neither, the two nearest are named
    outside = await http.post(
        "/open311/v2/requests.json",
        data={**form, "lat": "39.1212", "long": "117.2036"},
        headers={"Accept-Language": "en"},
    )
    assert is_error(outside, 400)
    description = outside.json()[0]["description"]
    assert "is in no compound" in description and "attribute[compound]" in description
    assert "HP-DF-QH-2 Harmony (47 m)" in description and "HP-DF-QH-1 Sunshine (50 m)" in description
    placed = await http.post(
        "/open311/v2/requests.json",
        data={**form, "lat": "39.1212", "long": "117.2036", "attribute[compound]": COMPOUND},
    )
    assert placed.status_code == 200, placed.text  # the compound named: the location is kept as it is
