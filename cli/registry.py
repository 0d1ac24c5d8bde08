"""`whistle registry show`: the codes a newcomer types (categories, compounds, organisations, departments) with
their names in the language in force, read from the registry in PostgreSQL. `whistle registry import` and `export`:
the city's whole registry as a file (JSON or YAML, with CSV tables of compounds and volunteers)."""

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from rich.table import Table

from activities import city_file, registry, registry_edits
from cli.keys import DatabaseUrl, DataDir, database_url_of
from cli.output import console, fail
from client.startup import StartupError, connect_postgres
from i18n.language import N_, _
from i18n.names import NameBook, name
from schemas.domain import JurisdictionKind, OrgKind, Severity
from schemas.registry import (
    Category,
    ChangeAction,
    ChangeVia,
    CompoundParties,
    Jurisdiction,
    Organisation,
    RegistryChange,
    RegistryPart,
)

app = typer.Typer(
    help=_("What the registry holds, with the names of its codes; import and export the city's registry."),
    no_args_is_help=True,
)


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
                    # a city of several districts routes each category per district: `export` shows it
                    "lead": category.routing.lead if category.routing else None,
                    "assist": list(category.routing.assist) if category.routing else [],
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


def _on_registry(url: str, action: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """Run `action` on a connection to the registry; a database that cannot be reached is one line, exit 1."""

    async def main() -> Any:
        connection = await connect_postgres(url)
        try:
            return await action(connection)
        finally:
            await connection.close()

    try:
        return asyncio.run(main())
    except StartupError as error:
        raise fail(f"whistle registry: {error}") from None


async def _load(connection: asyncpg.Connection) -> Registry:
    return Registry(
        categories=await registry.categories(connection),
        jurisdictions=await registry.jurisdictions(connection),
        organisations=await registry.organisations(connection),
        councils=await registry.councils(connection),
    )


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
    loaded = _on_registry(database_url_of(database_url, data_dir), _load)
    if as_json:
        typer.echo(json.dumps({section.value: loaded.rows(section) for section in sections}, ensure_ascii=False))
        return
    for section in sections:
        console.print(loaded.table(section))


# ---- import and export -----------------------------------------------------------------------------------------

CsvTable = Annotated[
    Path | None, typer.Option(dir_okay=False, help=_("CSV table, one row per entry with its community"))
]


def _refuse(problems: list[city_file.Problem]) -> None:
    typer.secho(
        _("whistle registry: the file has %(count)s problem(s); nothing was changed:") % {"count": len(problems)},
        fg=typer.colors.RED,
        err=True,
    )
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(1)


def _shown(value: Any) -> str:
    if value is None:
        return "–"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def describe(change: RegistryChange) -> str:
    """One line per change: what, which, and for a change each field from its old to its new value."""
    sign = {ChangeAction.ADDED: "+", ChangeAction.CHANGED: "~", ChangeAction.RETIRED: "-"}[change.action]
    row = change.after or change.before or {}
    what = name(change.part)
    if change.part is RegistryPart.JURISDICTION:
        what = name(JurisdictionKind(row["kind"]))
    elif change.part is RegistryPart.ORGANISATION:
        what = name(OrgKind(row["kind"]))
    line = f"{sign} {what} {change.key}"
    if isinstance(row.get("name"), str) and row.get("name") != change.key:
        line += f" {row['name']}"
    if change.action is ChangeAction.CHANGED and change.before is not None and change.after is not None:
        fields = sorted(change.before.keys() | change.after.keys())
        moved = [
            f"{field} {_shown(change.before.get(field))} → {_shown(change.after.get(field))}"
            for field in fields
            if change.before.get(field) != change.after.get(field)
        ]
        line += ": " + "; ".join(moved)
    return line


@app.command(
    "import",
    help=_("Check the whole file, then add and change what it lists in one transaction (nothing if any problem)."),
)
def import_city(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=_("the city file: .json, else YAML"))],
    compounds: CsvTable = None,
    volunteers: CsvTable = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_("only print what would change"))] = False,
    by: Annotated[str | None, typer.Option(help=_("who imports, for the audit (default: your login)"))] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    try:
        city = city_file.read(file, compounds=compounds, volunteers=volunteers)
    except city_file.InvalidCity as invalid:
        _refuse(invalid.problems)
    actor = registry_edits.Actor(name=by or getpass.getuser(), via=ChangeVia.IMPORT)

    async def run(connection: asyncpg.Connection) -> registry_edits.Plan:
        return await registry_edits.import_city(connection, city, actor, dry_run=dry_run)

    try:
        plan = _on_registry(database_url_of(database_url, data_dir), run)
    except city_file.InvalidCity as invalid:
        _refuse(invalid.problems)
    counts = {
        "added": plan.count(ChangeAction.ADDED),
        "changed": plan.count(ChangeAction.CHANGED),
        "unchanged": plan.unchanged,
    }
    if dry_run:
        typer.echo(
            _("Dry run, nothing changed: %(added)s to add, %(changed)s to change, %(unchanged)s unchanged.") % counts
        )
    else:
        typer.echo(_("Imported: %(added)s added, %(changed)s changed, %(unchanged)s unchanged.") % counts)
    if plan.kept:
        typer.echo(
            _("%(kept)s entries of the registry are not in the file and stay as they are.") % {"kept": plan.kept}
        )
    for change in plan.changes:
        typer.echo(describe(change))


class Format(StrEnum):
    JSON = "json"
    YAML = "yaml"


@app.command(help=_("Write the registry in force as a city file that `whistle registry import` reads back unchanged."))
def export(
    format: Annotated[Format, typer.Option("--format", help=_("json or yaml"))] = Format.JSON,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help=_("file (default: stdout)"))
    ] = None,
    compounds: Annotated[
        Path | None, typer.Option(dir_okay=False, help=_("write compounds to this CSV instead"))
    ] = None,
    volunteers: Annotated[
        Path | None, typer.Option(dir_okay=False, help=_("write volunteers to this CSV instead"))
    ] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    city = _on_registry(database_url_of(database_url, data_dir), registry_edits.export_city)
    content = city_file.content(city)
    for table, path in (("compounds", compounds), ("volunteers", volunteers)):
        if path is not None:
            path.write_text(city_file.split_table(content, table), encoding="utf-8")
    text = city_file.dumps(content, yaml_format=format is Format.YAML)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
