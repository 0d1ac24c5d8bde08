"""Registry administrators through the API (an ADMIN key of the command centre): edits of organisations,
categories, routing and policies, each recorded with who made it; edits that would break the registry refused
(in Chinese by default) with nothing changed; retirement refused while open cases reference it."""

from datetime import date

import httpx
import pytest_asyncio

from activities import calendars, registry_edits
from activities.db import connect
from api import keys
from schemas.keys import Role
from schemas.registry import ChangeVia, Routing
from tests.api.conftest import COMPOUND, bearer
from tests.waiting import eventually


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin(database_url) -> tuple[str, str]:
    """An administrator's key and its id."""
    connection = await connect(database_url)
    try:
        issued = await keys.issue(connection, "HP-CENTRE", Role.ADMIN, label="registry desk")
    finally:
        await connection.close()
    return issued.key, issued.info.key_id


def put(http: httpx.AsyncClient, key: str, what: str, body: dict, **headers: str):
    return http.put(f"/v1/registry/{what}", json=body, headers={**bearer(key), **headers})


async def test_an_administrator_edits_the_registry_and_each_change_is_recorded(http, admin, api_keys):
    key, key_id = admin
    health = {"code": "WJW", "kind": "DEPARTMENT", "district": "HP", "name": "区卫健委", "name_en": "Health"}

    refused = await put(http, api_keys["centre"], "organisations", health)  # a supervisor is no administrator
    assert refused.status_code == 403 and "ADMINISTER" in refused.json()["detail"]

    added = await put(http, key, "organisations", health)
    assert added.status_code == 200, added.text
    assert [(c["part"], c["key"], c["action"]) for c in added.json()] == [("ORGANISATION", "WJW", "ADDED")]
    assert (await put(http, key, "organisations", health)).json() == []  # the same again changes nothing
    renamed = (await put(http, key, "organisations", {**health, "duties": "public health"})).json()
    assert [(c["action"], c["before"]["duties"], c["after"]["duties"]) for c in renamed] == [
        ("CHANGED", None, "public health")
    ]

    routed = await put(http, key, "routing", {"district": "HP", "category": "NOISE", "lead": "HB", "assist": ["WJW"]})
    assert [(c["key"], c["after"]["assist"]) for c in routed.json()] == [("NOISE@HP", ["WJW"])]
    dogs = {
        "code": "DOG_FOULING",
        "name": "遛狗不牵绳",
        "name_en": "Dogs off the lead",
        "default_severity": "ORDINARY",
        "needs_arrival": False,
        "routing": {"HP": {"lead": "CGZF"}},
    }
    category = await put(http, key, "categories", dogs)
    assert {(c["part"], c["action"]) for c in category.json()} == {("CATEGORY", "ADDED"), ("ROUTING", "ADDED")}
    city = (await http.get("/v1/registry", headers=bearer(key))).json()
    policy = next(p for p in city["policies"] if p["name"] == "default")
    changed = await put(http, key, "policies", {**policy, "feedback_window": "P5D"})
    assert [(c["key"], c["after"]["feedback_window"]) for c in changed.json()] == [("default", "P5D")]

    recorded = (await http.get("/v1/registry/changes", params={"limit": 6}, headers=bearer(key))).json()
    assert [(c["part"], c["key"], c["action"]) for c in recorded] == [
        ("POLICY", "default", "CHANGED"),
        ("ROUTING", "DOG_FOULING@HP", "ADDED"),
        ("CATEGORY", "DOG_FOULING", "ADDED"),
        ("ROUTING", "NOISE@HP", "CHANGED"),
        ("ORGANISATION", "WJW", "CHANGED"),
        ("ORGANISATION", "WJW", "ADDED"),
    ]
    assert {(c["actor"], c["key_id"], c["via"]) for c in recorded} == {("HP-CENTRE", key_id, "API")}
    city = (await http.get("/v1/registry", headers=bearer(key))).json()
    assert "WJW" in [d["code"] for d in city["districts"][0]["departments"]]


async def test_an_edit_that_would_break_the_registry_is_refused_and_changes_nothing(http, admin):
    key, _ = admin
    before = (await http.get("/v1/registry", headers=bearer(key))).json()

    unknown = await put(http, key, "routing", {"district": "HP", "category": "NOISE", "lead": "NOPE"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == [
        {
            "type": "registry_invalid",
            "loc": ["registry", "districts", "HP", "routing", "NOISE", "lead"],
            "msg": "未知的区职能部门 NOPE",
        }
    ]
    unrouted = {
        "code": "KITES",
        "name": "风筝",
        "name_en": "Kites",
        "default_severity": "ORDINARY",
        "needs_arrival": False,
    }
    refused = await put(http, key, "categories", unrouted, **{"Accept-Language": "en"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["msg"] == "no routing for KITES"
    moved = await put(
        http, key, "organisations", {"code": "XF", "kind": "PROPERTY_COMPANY", "district": "HP", "name": "x"}
    )
    assert moved.status_code == 422 and "类型和所属区不能更改" in moved.json()["detail"][0]["msg"]
    street = await put(
        http, key, "organisations", {"code": "HP-DF", "kind": "STREET_OFFICE", "district": "HP", "name": "x"}
    )
    assert street.status_code == 422

    assert (await http.get("/v1/registry", headers=bearer(key))).json() == before


async def test_retiring_what_open_cases_reference_is_refused_with_those_cases(
    http, admin, pool, categories, database_url
):
    key, _ = admin
    category = next(categories)
    reported = await http.post("/v1/cases", json={"compound": COMPOUND, "category": category, "description": "x"})
    case_id = reported.json()["case_id"]
    await eventually(lambda: pool.fetchval("SELECT 1 FROM cases WHERE case_id = $1", case_id), what="the case row")

    refused = await http.post(f"/v1/registry/categories/{category}/retire", headers=bearer(key))
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"{category} 不能停用：仍有未办结的案件引用它：{case_id}",
        "cases": [case_id],
        "references": [],
    }
    company = await http.post("/v1/registry/organisations/PM-LVYUAN/retire", headers=bearer(key))
    assert company.status_code == 409 and case_id in company.json()["cases"]
    assert "HP-DF-QH-1 的小区三方" in company.json()["references"]
    office = await http.post("/v1/registry/organisations/HP-DF/retire", headers=bearer(key))
    assert office.status_code == 422 and "只能停用区职能部门和物业公司" in office.json()["detail"][0]["msg"]

    temporary = {"code": "TEMP", "kind": "DEPARTMENT", "district": "HP", "name": "临时指挥部"}
    assert (await put(http, key, "organisations", temporary)).status_code == 200
    connection = await connect(database_url)
    try:
        temporary_key = (await keys.issue(connection, "TEMP", Role.DEPARTMENT)).key
    finally:
        await connection.close()
    assert (await http.get("/v1/department/tasks", headers=bearer(temporary_key))).status_code == 200
    retired = await http.post("/v1/registry/organisations/TEMP/retire", headers=bearer(key))
    assert retired.status_code == 200 and retired.json()["action"] == "RETIRED"
    assert (await http.get("/v1/department/tasks", headers=bearer(temporary_key))).status_code == 401
    again = await http.post("/v1/registry/organisations/TEMP/retire", headers=bearer(key))
    assert again.status_code == 422


async def test_open311_services_in_a_city_of_two_districts(http, database_url):
    """A second district routes every category to departments of its own: the services' group is the lead
    department in the district asked for, and the category itself when no district is named."""
    connection = await connect(database_url)
    try:
        city = await registry_edits.export_city(connection)
        west = city.districts[0].model_copy(deep=True)
        west.code, west.name, west.streets, west.property_companies = "XW", "西区", [], []
        west.centre = west.centre.model_copy(update={"code": "XW-CENTRE"})
        west.departments = [
            d.model_copy(update={"code": f"XW-{d.code}", "name": f"西{d.name}"}) for d in west.departments
        ]
        west.routing = {
            code: Routing(lead=f"XW-{r.lead}", assist=[f"XW-{a}" for a in r.assist]) for code, r in west.routing.items()
        }
        city.districts.append(west)
        actor = registry_edits.Actor(name="test", via=ChangeVia.IMPORT)
        await registry_edits.import_city(connection, city, actor)
    finally:
        await connection.close()

    def groups(response: httpx.Response) -> dict[str, str]:
        assert response.status_code == 200, response.text
        return {service["service_code"]: service["group"] for service in response.json()}

    assert (
        groups(await http.get("/open311/v2/services.json", params={"jurisdiction_id": "HP"}))["NOISE"] == "区生态环境局"
    )
    assert (
        groups(await http.get("/open311/v2/services.json", params={"jurisdiction_id": "XW"}))["NOISE"]
        == "西区生态环境局"
    )
    assert groups(await http.get("/open311/v2/services.json"))["NOISE"] == "噪声扰民"


async def test_an_administrator_overrides_a_calendar_day_and_gives_it_back(http, admin, database_url):
    key, _ = admin
    saturday = date(2026, 12, 5)  # a plain Saturday: no working hours in the week, none in the seed

    async def day_of() -> object:
        connection = await connect(database_url)
        try:
            return (await calendars.calendar(connection, "CN", saturday, saturday)).days.get(saturday)
        finally:
            await connection.close()

    body = {"hours": [{"start": "09:00:00", "end": "12:00:00"}], "reason": "街道集中办公日"}
    refused = await http.put(f"/v1/registry/calendars/NOPE/days/{saturday}", json=body, headers=bearer(key))
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    bad = await http.put(
        f"/v1/registry/calendars/CN/days/{saturday}", json={"hours": [], "reason": ""}, headers=bearer(key)
    )
    assert bad.status_code == 422 and await day_of() is None  # a reason is required; nothing changed

    set_ = await http.put(f"/v1/registry/calendars/CN/days/{saturday}", json=body, headers=bearer(key))
    assert set_.status_code == 200, set_.text
    assert (set_.json()["by"], set_.json()["day"]) == ("HP-CENTRE", str(saturday))
    overridden = await day_of()
    assert overridden is not None and [(s.start.hour, s.end.hour) for s in overridden.hours] == [(9, 12)]

    cleared = await http.delete(f"/v1/registry/calendars/CN/days/{saturday}", headers=bearer(key))
    assert cleared.status_code == 204 and await day_of() is None
