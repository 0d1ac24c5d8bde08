"""`whistle registry show`: the codes a newcomer types (categories, compounds, organisations, departments) with
their Chinese names, read from the registry in PostgreSQL."""

import asyncio
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from activities import registry
from cli.keys import DatabaseUrl, DataDir, database_url_of
from client.startup import StartupError, connect_postgres
from schemas.domain import OrgKind
from schemas.registry import Category, CompoundParties, Jurisdiction, Organisation

app = typer.Typer(help="What the registry holds: the codes to use, with their names.", no_args_is_help=True)


class Section(StrEnum):
    CATEGORIES = "categories"
    COMPOUNDS = "compounds"
    ORGANISATIONS = "organisations"
    DEPARTMENTS = "departments"


TITLES = {
    Section.CATEGORIES: "categories 问题类别",
    Section.COMPOUNDS: "compounds 小区 (and their three-party council 三方议事会)",
    Section.ORGANISATIONS: "organisations 单位",
    Section.DEPARTMENTS: "departments 区直部门",
}
HEADERS = {
    "code": "code 代码",
    "name": "name 名称",
    "name_en": "English",
    "default_severity": "severity 紧急程度",
    "lead": "lead department 主办",
    "assist": "assisting 协办",
    "community": "community 社区",
    "street": "street 街道",
    "property_company": "property company 物业",
    "owners_committee": "owners' committee 业委会",
    "community_committee": "community committee 居委会",
    "kind": "kind 类型",
    "jurisdiction": "area 辖区",
    "duties": "duties 职责",
}
NAMED = {"lead", "community", "street", "property_company", "jurisdiction"}  # codes a table shows with their names


@dataclass
class Registry:
    categories: list[Category]
    jurisdictions: list[Jurisdiction]
    organisations: list[Organisation]
    councils: list[CompoundParties]

    def rows(self, section: Section) -> list[dict]:
        """The section as flat rows of codes (what `--json` prints)."""
        parents = {place.code: place.parent for place in self.jurisdictions}
        if section is Section.CATEGORIES:
            return [
                {
                    "code": category.code,
                    "name": category.name,
                    "name_en": category.name_en,
                    "default_severity": category.default_severity.value,
                    "lead": category.routing.lead,
                    "assist": list(category.routing.assist),
                }
                for category in self.categories
            ]
        if section is Section.COMPOUNDS:
            names = {place.code: place.name for place in self.jurisdictions}
            return [
                {
                    "code": council.compound,
                    "name": names[council.compound],
                    "community": parents[council.compound],
                    "street": parents[parents[council.compound]],
                    "property_company": council.property_company,
                    "owners_committee": council.owners_committee,
                    "community_committee": council.community_committee,
                }
                for council in self.councils
            ]
        if section is Section.DEPARTMENTS:
            return [
                {"code": org.code, "name": org.name, "duties": org.duties}
                for org in self.organisations
                if org.kind is OrgKind.DEPARTMENT
            ]
        return [
            {"code": org.code, "kind": org.kind.value, "name": org.name, "jurisdiction": org.jurisdiction}
            for org in self.organisations
        ]

    def table(self, section: Section) -> Table:
        # a community or street is shown by its area's name, not its office's (the codes are the same)
        names = {o.code: o.name for o in self.organisations} | {place.code: place.name for place in self.jurisdictions}
        rows = self.rows(section)
        table = Table(title=TITLES[section], title_justify="left")
        columns = list(rows[0]) if rows else ["code", "name"]
        for column in columns:
            table.add_column(HEADERS[column], no_wrap=column == "code")
        for row in rows:
            table.add_row(*(_cell(row[column], names if column in NAMED else {}) for column in columns))
        return table


def _cell(value: str | list[str] | None, names: dict[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value)
    return f"{value} {names[value]}" if value in names else value


async def _load(url: str) -> Registry:
    connection = await connect_postgres(url)
    try:
        return Registry(
            categories=await registry.categories(connection),
            jurisdictions=await registry.jurisdictions(connection),
            organisations=await registry.organisations(connection),
            councils=await registry.councils(connection),
        )
    finally:
        await connection.close()


@app.command()
def show(
    sections: Annotated[
        list[Section] | None, typer.Argument(help="what to show (default: all four)", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (codes only) instead of tables")] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Categories, compounds (with their councils), organisations and departments: codes and names."""
    sections = sections or list(Section)
    try:
        loaded = asyncio.run(_load(database_url_of(database_url, data_dir)))
    except StartupError as error:
        typer.secho(f"whistle registry: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({section.value: loaded.rows(section) for section in sections}, ensure_ascii=False))
        return
    console = Console()
    for section in sections:
        console.print(loaded.table(section))
