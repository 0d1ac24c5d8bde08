"""`whistle registry show`: a newcomer finds the codes to type (HP-DF-QH-1, SEWER_BLOCKAGE, …) with their
names, Chinese by default and English on request, through the real CLI against the demo registry."""

import json

from tests.conftest import whistle_cli


def line_of(printed: str, code: str) -> str:
    return next(line for line in printed.splitlines() if line.startswith(f"│ {code} "))


async def test_registry_show_lists_every_section_with_chinese_names(time_env, database_url):
    printed = await whistle_cli(time_env, database_url, "registry", "show")

    for title in ("问题类别", "小区及其三方联动", "单位", "区职能部门"):
        assert title in printed
    sewer = line_of(printed, "SEWER_BLOCKAGE")
    assert "下水道堵塞" in sewer and "Sewer" not in sewer and "一般" in sewer and "SW 区水务局" in sewer
    compound = line_of(printed, "HP-DF-QH-1")
    assert "阳光小区" in compound
    assert "PM-LVYUAN 绿苑物业" in compound and "OC-HP-DF-QH-1" in compound and "HP-DF 东风街道" in compound
    assert "区公安分局" in line_of(printed, "PSB")
    assert "区职能部门" in line_of(printed, "XF")  # an organisation's kind, named


async def test_registry_show_in_english(time_env, database_url):
    printed = await whistle_cli(time_env, database_url, "registry", "show", language="en")
    for title in ("categories", "compounds and their three-party councils", "organisations", "district departments"):
        assert title in printed
    sewer = line_of(printed, "SEWER_BLOCKAGE")
    assert "Sewer" in sewer and "下水道堵塞" not in sewer and "ordinary" in sewer
    assert "PM-LVYUAN Lvyuan Property" in line_of(printed, "HP-DF-QH-1")


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
