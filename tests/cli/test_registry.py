"""`whistle registry show`: a newcomer finds the codes to type (HP-DF-QH-1, SEWER_BLOCKAGE, …) with their
Chinese names, through the real CLI against the demo registry."""

import json

from tests.conftest import whistle_cli


async def test_registry_show_lists_every_section_with_chinese_names(time_env, database_url):
    printed = await whistle_cli(time_env, database_url, "registry", "show")
    lines = printed.splitlines()

    def line_of(code: str) -> str:
        return next(line for line in lines if line.startswith(f"│ {code} "))

    for title in ("categories 问题类别", "compounds 小区", "organisations 单位", "departments 区直部门"):
        assert title in printed
    assert "下水道堵塞" in line_of("SEWER_BLOCKAGE") and "Sewer" in line_of("SEWER_BLOCKAGE")
    compound = line_of("HP-DF-QH-1")
    assert "阳光小区" in compound
    assert "PM-LVYUAN 绿苑物业" in compound and "OC-HP-DF-QH-1" in compound and "HP-DF 东风街道" in compound
    assert "区公安分局" in line_of("PSB")


async def test_registry_show_one_section_as_json(time_env, database_url):
    shown = json.loads(await whistle_cli(time_env, database_url, "registry", "show", "compounds", "--json"))
    assert list(shown) == ["compounds"]
    compound = next(entry for entry in shown["compounds"] if entry["code"] == "HP-DF-QH-1")
    assert compound == {
        "code": "HP-DF-QH-1",
        "name": compound["name"],
        "community": "HP-DF-QH",
        "street": "HP-DF",
        "property_company": "PM-LVYUAN",
        "owners_committee": "OC-HP-DF-QH-1",
        "community_committee": "HP-DF-QH",
    }
    assert compound["name"].startswith("阳光小区")


async def test_registry_show_refuses_an_unknown_section(time_env, database_url):
    error = await whistle_cli(time_env, database_url, "registry", "show", "streets", exit_code=2)
    assert "'streets' is not one of" in error
