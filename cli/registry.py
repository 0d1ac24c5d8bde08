"""`whistle registry show`: the codes a newcomer types (categories, compounds, organisations, departments) with
their names in the language in force, read from the registry in PostgreSQL."""

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from activities import registry
from cli.keys import DatabaseUrl, DataDir, database_url_of
from cli.output import console, fail
from client.startup import StartupError, connect_postgres
from i18n.language import N_, _
from i18n.names import NameBook, name
from schemas.domain import OrgKind, Severity
from schemas.registry import Category, CompoundParties, Jurisdiction, Organisation

app = typer.Typer(help=_("What the registry holds: the codes to use, with their names."), no_args_is_help=True)


class Section(StrEnum):
    CATEGORIES = "categories"
    COMPOUNDS = "compounds"
    ORGANISATIONS = "organisations"
    DEPARTMENTS = "departments"


TITLES = {
    Section.CATEGORIES: N_("categories"),
    Section.COMPOUNDS: N_("compounds and their three-party councils (三方联动)"),
    Section.ORGANISATIONS: N_("organisations"),
    Section.DEPARTMENTS: N_("district departments"),
}
HEADERS = {
    "code": N_("code"),
    "name": N_("name"),
    "default_severity": N_("default severity"),
    "lead": N_("lead department (主办)"),
    "assist": N_("assisting departments (协办)"),
    "community": N_("community"),
    "street": N_("street"),
    "property_company": N_("property company"),
    "owners_committee": N_("owners' committee"),
    "community_committee": N_("community committee"),
    "kind": N_("kind"),
    "jurisdiction": N_("area"),
    "duties": N_("duties"),
}
NAMED = {
    "lead",
    "assist",
    "community",
    "street",
    "property_company",
    "owners_committee",
    "jurisdiction",
}  # codes shown with names
WORDS = {"default_severity": Severity, "kind": OrgKind}  # codes of the domain, shown as words


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
        """The section in the language in force: each row's own name, the codes it refers to with theirs."""
        # a community or street is shown by its area's name, not its office's (the codes are the same)
        names = _book(self.organisations, self.jurisdictions)
        own = _book(
            {
                Section.CATEGORIES: self.categories,
                Section.COMPOUNDS: self.jurisdictions,
                Section.ORGANISATIONS: self.organisations,
                Section.DEPARTMENTS: self.organisations,
            }[section]
        )
        rows = self.rows(section)
        table = Table(title=_(TITLES[section]), title_justify="left")
        columns = [column for column in (list(rows[0]) if rows else ["code", "name"]) if column != "name_en"]
        for column in columns:
            table.add_column(_(HEADERS[column]), no_wrap=column == "code")
        for row in rows:
            table.add_row(*(_cell(column, row, names, own) for column in columns))
        return table


def _book(*sources: Iterable[Category | Jurisdiction | Organisation]) -> NameBook:
    """Names by code, in Chinese and English; a later source's name wins for a code both hold."""
    return NameBook({item.code: (item.name, item.name_en) for items in sources for item in items})


def _cell(column: str, row: dict, names: NameBook, own: NameBook) -> str:
    value = row[column]
    if column == "name":
        return own(row["code"])
    if column in WORDS:
        return name(WORDS[column](value))
    if column in NAMED:
        return ", ".join(f"{code} {names(code)}" for code in ([value] if isinstance(value, str) else value))
    return ", ".join(value) if isinstance(value, list) else value or ""


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


@app.command(help=_("Categories, compounds (with their councils), organisations and departments: codes and names."))
def show(
    sections: Annotated[
        list[Section] | None, typer.Argument(help=_("what to show (default: all four)"), show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("print JSON (codes and names) instead of tables"))] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    sections = sections or list(Section)
    try:
        loaded = asyncio.run(_load(database_url_of(database_url, data_dir)))
    except StartupError as error:
        raise fail(f"whistle registry: {error}") from None
    if as_json:
        typer.echo(json.dumps({section.value: loaded.rows(section) for section in sections}, ensure_ascii=False))
        return
    for section in sections:
        console.print(loaded.table(section))
