"""`whistle registry import` and `export` through the real CLI, in Chinese: a file with problems lists every one
and changes nothing; a generated city of two districts and 550 compounds (CSV tables of compounds and
volunteers) is dry-run, imported in seconds, and exported in a form that imports as no change."""

import time
from pathlib import Path

import pytest_asyncio

from activities.db import connect
from activities.registry_rows import read_rows
from tests import cities
from tests.conftest import whistle_cli

GENEROUS_SECONDS = 60  # the issue asks for under 10 s; CI machines are loaded, so only a defect fails this


@pytest_asyncio.fixture(loop_scope="session")
async def city_url(postgres_server) -> str:
    return await cities.registry_database(postgres_server)


async def _rows(url: str) -> dict:
    connection = await connect(url)
    try:
        return await read_rows(connection)
    finally:
        await connection.close()


async def test_a_file_with_problems_lists_every_one_and_changes_nothing(time_env, city_url, tmp_path: Path):
    content = cities.city()
    north = content["districts"][0]
    north["routing"]["NO_SUCH"] = {"lead": "CN-SW"}
    north["routing"]["LEAK"] = {"lead": "CN-SW", "assist": ["CN-NOPE"]}
    north["streets"][1]["code"] = north["streets"][0]["code"]
    (tmp_path / "city.yaml").write_text(cities.yaml_text(content))
    before = await _rows(city_url)

    error = await whistle_cli(time_env, city_url, "registry", "import", str(tmp_path / "city.yaml"), exit_code=1)

    lines = error.splitlines()
    assert lines[0] == "whistle registry: 文件有 3 处问题，未做任何更改："
    assert lines[1].startswith("  districts[0].streets[1].code (city.yaml，第 ") and "代码 CN-1 重复使用" in lines[1]
    assert (
        lines[2].startswith("  districts[0].routing.LEAK.assist[0] (city.yaml，第 ")
        and "未知的区职能部门 CN-NOPE" in lines[2]
    )
    assert (
        lines[3].startswith("  districts[0].routing.NO_SUCH (city.yaml，第 ") and "未知的问题类别 NO_SUCH" in lines[3]
    )
    assert await _rows(city_url) == before


async def test_a_generated_city_imports_in_seconds_and_exports_as_no_change(time_env, city_url, tmp_path: Path):
    content = cities.city(streets=5, communities=5, compounds=11)
    count = cities.compound_count(content)
    assert count == 550
    text, compounds, volunteers = cities.as_tables(content)
    city = tmp_path / "city.yaml"
    city.write_text(text)
    (tmp_path / "compounds.csv").write_text(compounds)
    (tmp_path / "volunteers.csv").write_text(volunteers)
    tables = ("--compounds", str(tmp_path / "compounds.csv"), "--volunteers", str(tmp_path / "volunteers.csv"))

    planned = await whistle_cli(time_env, city_url, "registry", "import", str(city), *tables, "--dry-run")
    first, *listed = planned.splitlines()
    assert first.startswith("试运行，未做更改：将新增 ") and first.endswith("项，修改 0 项，不变 0 项。")
    assert "+ 小区 CN-1-1-1 小区CN-1-1-1" in listed and "+ 小区三方 CN-1-1-1" in listed
    assert not any((await _rows(city_url)).values())

    started = time.monotonic()
    imported = await whistle_cli(time_env, city_url, "registry", "import", str(city), *tables, "--by", "张工")
    seconds = time.monotonic() - started
    print(f"\nwhistle registry import of {count} compounds: {seconds:.2f} s")
    assert seconds < GENEROUS_SECONDS
    assert imported.splitlines()[0] == first.replace("试运行，未做更改：将新增", "已导入：新增")

    exported = tmp_path / "exported.yaml"
    await whistle_cli(time_env, city_url, "registry", "export", "--format", "yaml", "--output", str(exported))
    again = await whistle_cli(time_env, city_url, "registry", "import", str(exported), "--dry-run")
    assert again.splitlines()[0].startswith("试运行，未做更改：将新增 0 项，修改 0 项，不变 ")
    assert len(again.splitlines()) == 1


def _readme_example() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## The city's registry") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    return section[start : section.index("```\n", start)]


async def test_the_readme_example_is_a_city_file(time_env, city_url, tmp_path: Path):
    (tmp_path / "city.yaml").write_text(_readme_example())
    planned = await whistle_cli(time_env, city_url, "registry", "import", str(tmp_path / "city.yaml"), "--dry-run")
    assert planned.startswith("试运行，未做更改：将新增 ")
