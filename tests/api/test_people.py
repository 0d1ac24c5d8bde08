"""People for administrators through the API (/v1/people, the ADMIN right): create with a one-time password,
list, disable, reset; refusals in words; other roles refused."""

from api import keys
from schemas.keys import Role
from tests.api.conftest import bearer

ENGLISH = {"Accept-Language": "en"}


async def test_an_administrator_creates_lists_resets_and_disables_people(http, pool, api_keys):
    async with pool.acquire() as connection:
        admin = bearer((await keys.issue(connection, "HP-CENTRE", Role.ADMIN)).key) | ENGLISH
    body = {"account": "Liu.Street", "name": "刘街道", "org": "HP-DF", "role": "STREET"}
    created = await http.post("/v1/people", json=body, headers=admin)
    assert created.status_code == 201, created.text
    issued = created.json()
    assert issued["person"]["account"] == "liu.street" and issued["person"]["must_change_password"] is True
    password = issued["password"]
    signed_in = await http.post("/signin", data={"account": "liu.street", "password": password})
    assert signed_in.headers["location"] == "/signin/password"  # their own password first

    listed = await http.get("/v1/people", params={"org": "HP-DF"}, headers=admin)
    assert [p["account"] for p in listed.json()] == ["liu.street"] and password not in listed.text

    reset = await http.post("/v1/people/liu.street/reset", headers=admin)
    assert reset.status_code == 200 and reset.json()["password"] != password
    disabled = await http.post("/v1/people/liu.street/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    refused = await http.post("/signin", data={"account": "liu.street", "password": reset.json()["password"]})
    assert refused.status_code == 401

    again = await http.post("/v1/people", json=body, headers=admin)
    assert (again.status_code, again.json()["detail"]) == (409, "the account 'liu.street' exists already")
    wrong_kind = await http.post("/v1/people", json={**body, "account": "x.y", "org": "PM-LVYUAN"}, headers=admin)
    assert wrong_kind.status_code == 422 and "the street office role is for" in wrong_kind.json()["message"]
    unknown = await http.post("/v1/people/nobody/reset", headers=admin)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no person with the account 'nobody'")
    by_a_street = await http.get("/v1/people", headers=bearer(api_keys["street"]))
    assert by_a_street.status_code == 403
    assert (await http.get("/v1/people")).status_code == 401
