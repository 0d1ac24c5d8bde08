"""`whistle keys create|revoke|list`: bearer API keys for organisations, stored hashed."""

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from api import keys
from client.settings import Settings
from client.startup import StartupError, connect_postgres
from devstack.manifest import read_manifest
from schemas.domain import Channel
from schemas.keys import ApiKeyInfo, Role

app = typer.Typer(help="Create, revoke and list API keys (one per organisation and role).", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option(help="PostgreSQL URL (env DATABASE_URL; default: the running `whistle dev`)")
]
DataDir = Annotated[Path | None, typer.Option(help="data dir of a running `whistle dev` (env WHISTLE_DATA_DIR)")]


def database_url_of(database_url: str | None, data_dir: Path | None) -> str:
    """The --database-url or DATABASE_URL, else the database of the `whistle dev` running on the data dir."""
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    if settings.database_url:
        return settings.database_url
    return read_manifest(settings.data_dir, "DATABASE_URL is not set").database_url


def _run(database_url: str | None, data_dir: Path | None, action) -> object:
    async def main():
        connection = await connect_postgres(database_url_of(database_url, data_dir))
        try:
            return await action(connection)
        finally:
            await connection.close()

    try:
        return asyncio.run(main())
    except (StartupError, keys.KeyRefused) as error:
        typer.secho(f"whistle keys: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _table(infos: list[ApiKeyInfo]) -> Table:
    table = Table("key id", "organisation", "role", "channel", "label", "created", "revoked")
    for info in infos:
        table.add_row(
            info.key_id,
            info.org,
            info.role,
            info.channel or "",
            info.label or "",
            f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "",
        )
    return table


@app.command()
def create(
    org: Annotated[str, typer.Option(help="organisation code, e.g. PM-LVYUAN, HP-DF, XF, HP-CENTRE")],
    role: Annotated[Role, typer.Option(case_sensitive=False, help="what the key may do")],
    channel: Annotated[
        Channel | None, typer.Option(case_sensitive=False, help="intake keys: HOTLINE, GRID, WINDOW or OPEN311")
    ] = None,
    label: Annotated[str | None, typer.Option(help="who holds it, for the list")] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Issue a key and print it once (only its hash is stored)."""
    issued = _run(database_url, data_dir, lambda c: keys.issue(c, org, role, channel=channel, label=label))
    typer.echo(issued.key)
    typer.secho(
        f"key {issued.info.key_id} for {issued.info.org} as {issued.info.role}: keep it now, it is not shown again",
        err=True,
    )


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="the key id shown by `whistle keys list`")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke a key at once; requests with it get 401."""
    info = _run(database_url, data_dir, lambda c: keys.revoke(c, key_id))
    typer.echo(f"revoked {info.key_id} ({info.org}, {info.role})")


@app.command("list")
def list_keys(
    org: Annotated[str | None, typer.Option(help="only this organisation's keys")] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """List keys (never their secrets)."""
    Console().print(_table(_run(database_url, data_dir, lambda c: keys.listed(c, org))))
