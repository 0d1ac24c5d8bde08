"""`whistle users create|list|disable|reset`: the people who sign in to the web pages, for administrators.
Passwords are printed once (one-time: the person chooses their own at the first sign-in) and stored as argon2."""

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from activities import people
from cli.keys import DatabaseUrl, DataDir, run_on_database
from cli.output import at, console, fail, labelled, zoned
from i18n.language import _
from i18n.names import NameBook, name
from schemas.keys import Role
from schemas.people import IssuedPassword, NewPerson, PersonInfo

app = typer.Typer(
    help=_("Create, list, disable and reset the people who sign in to the web pages."), no_args_is_help=True
)

Account = Annotated[str, typer.Argument(help=_("the account the person signs in with"))]


def _table(infos: list[PersonInfo], names: NameBook) -> Table:
    table = Table(
        _("account"),
        _("name"),
        _("organisation"),
        _("role"),
        _("state"),
        zoned(_("created")),
        title=_("People"),
    )
    for info in infos:
        table.add_row(
            info.account, info.name, labelled(names, info.org), name(info.role), _state(info), at(info.created_at)
        )
    return table


def _state(info: PersonInfo) -> str:
    if info.disabled_at:
        return _("disabled %(at)s") % {"at": at(info.disabled_at)}
    if info.locked_until:
        return _("locked until %(at)s") % {"at": at(info.locked_until)}
    if info.must_change_password:
        return _("one-time password")
    return _("active")


def _issued(issued: IssuedPassword, names: NameBook) -> None:
    typer.echo(issued.password)  # alone on stdout, for scripts
    told = {
        "account": issued.person.account,
        "org": labelled(names, issued.person.org),
        "role": name(issued.person.role),
    }
    typer.secho(
        _("one-time password of %(account)s (%(org)s, %(role)s): give it to the person now, it is not shown again")
        % told,
        err=True,
    )


@app.command(help=_("Create a person and print a one-time password once."))
def create(
    account: Annotated[str, typer.Option(help=_("what the person signs in with, e.g. wang.li"))],
    name_: Annotated[str, typer.Option("--name", help=_("the person's name, as the timeline shows it"))],
    org: Annotated[str, typer.Option(help=_("organisation code, e.g. PM-LVYUAN, HP-DF, XF, HP-CENTRE"))],
    role: Annotated[Role, typer.Option(case_sensitive=False, help=_("what the person may do"))],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    try:
        new = NewPerson(account=account, name=name_, org=org, role=role)
    except ValidationError as error:
        raise fail(f"whistle users: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}") from None
    _issued(*run_on_database(database_url, data_dir, lambda c: people.create(c, new), "users"))


@app.command("list", help=_("List people (never their passwords)."))
def list_people(
    org: Annotated[str | None, typer.Option(help=_("only this organisation's people"))] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    console.print(_table(*run_on_database(database_url, data_dir, lambda c: people.listed(c, org), "users")))


@app.command(help=_("Disable a person at once: they cannot sign in, their open sessions end."))
def disable(account: Account, database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    info, names = run_on_database(database_url, data_dir, lambda c: people.disable(c, account), "users")
    typer.echo(_("disabled %(account)s (%(org)s)") % {"account": info.account, "org": labelled(names, info.org)})


@app.command(help=_("Give a person a new one-time password (printed once); ends their sessions, lifts a lock-out."))
def reset(account: Account, database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    _issued(*run_on_database(database_url, data_dir, lambda c: people.reset(c, account), "users"))
