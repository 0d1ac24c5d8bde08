"""`whistle keys create|revoke|list`: bearer API keys for organisations, stored hashed."""

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from activities import registry
from api import keys
from cli.output import at, console, fail, labelled, zoned
from client.settings import Settings
from client.startup import StartupError, connect_postgres
from devstack.manifest import read_manifest
from i18n.language import _
from i18n.names import NameBook, name
from schemas.domain import Channel
from schemas.keys import ApiKeyInfo, Role
from schemas.messages import Invalid

app = typer.Typer(help=_("Create, revoke and list API keys (one per organisation and role)."), no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option(help=_("PostgreSQL URL (env DATABASE_URL; default: the running `whistle dev`)"))
]
DataDir = Annotated[Path | None, typer.Option(help=_("data dir of a running `whistle dev` (env WHISTLE_DATA_DIR)"))]


def database_url_of(database_url: str | None, data_dir: Path | None) -> str:
    """The --database-url or DATABASE_URL, else the database of the `whistle dev` running on the data dir."""
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    if settings.database_url:
        return settings.database_url
    return read_manifest(settings.data_dir, "DATABASE_URL is not set").database_url


def run_on_database(database_url: str | None, data_dir: Path | None, action, command: str) -> tuple[Any, NameBook]:
    """The action's answer, and the registry's names to print it with; a refusal is one line (`whistle
    <command>: …`), exit 1."""

    async def main():
        connection = await connect_postgres(database_url_of(database_url, data_dir))
        try:
            return await action(connection), await registry.name_book(connection)
        finally:
            await connection.close()

    try:
        return asyncio.run(main())
    except (StartupError, Invalid) as error:
        raise fail(f"whistle {command}: {error}") from None


def _table(infos: list[ApiKeyInfo], names: NameBook) -> Table:
    table = Table(
        _("key id"),
        _("organisation"),
        _("role"),
        _("channel"),
        _("label"),
        zoned(_("created")),
        zoned(_("revoked")),
        title=_("API keys"),
    )
    for info in infos:
        table.add_row(
            info.key_id,
            labelled(names, info.org),
            name(info.role),
            name(info.channel) if info.channel else "",
            info.label or "",
            at(info.created_at),
            at(info.revoked_at),
        )
    return table


@app.command(help=_("Issue a key and print it once (only its hash is stored)."))
def create(
    org: Annotated[str, typer.Option(help=_("organisation code, e.g. PM-LVYUAN, HP-DF, XF, HP-CENTRE"))],
    role: Annotated[Role, typer.Option(case_sensitive=False, help=_("what the key may do"))],
    channel: Annotated[
        Channel | None, typer.Option(case_sensitive=False, help=_("intake keys: HOTLINE, GRID, WINDOW or OPEN311"))
    ] = None,
    label: Annotated[str | None, typer.Option(help=_("who holds it, for the list"))] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    issued, names = run_on_database(
        database_url, data_dir, lambda c: keys.issue(c, org, role, channel=channel, label=label), "keys"
    )
    typer.echo(issued.key)  # alone on stdout, for scripts: KEY=$(whistle keys create …)
    told = {"key": issued.info.key_id, "org": labelled(names, issued.info.org), "role": name(issued.info.role)}
    typer.secho(_("key %(key)s for %(org)s as %(role)s: keep it now, it is not shown again") % told, err=True)


@app.command(help=_("Revoke a key at once; requests with it get 401."))
def revoke(
    key_id: Annotated[str, typer.Argument(help=_("the key id shown by `whistle keys list`"))],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    info, names = run_on_database(database_url, data_dir, lambda c: keys.revoke(c, key_id), "keys")
    told = {"key": info.key_id, "org": labelled(names, info.org), "role": name(info.role)}
    typer.echo(_("revoked %(key)s (%(org)s, %(role)s)") % told)


@app.command("list", help=_("List keys (never their secrets)."))
def list_keys(
    org: Annotated[str | None, typer.Option(help=_("only this organisation's keys"))] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    console.print(_table(*run_on_database(database_url, data_dir, lambda c: keys.listed(c, org), "keys")))
