"""`whistle users create|list|disable|reset` and the first administrator of `whistle migrate`, against a real
database: one-time passwords printed once, stored as argon2, the person's own password after the first sign-in."""

import asyncio

import asyncpg
from typer.testing import CliRunner

from activities import people
from cli.app import app

runner = CliRunner()


def whistle(database_url: str, *args: str):
    return runner.invoke(app, [*args, "--database-url", database_url])


def signs_in(database_url: str, account: str, password: str) -> str:
    """'yes', or the words the sign-in was refused with."""

    async def attempt():
        connection = await asyncpg.connect(database_url)
        try:
            await people.verify(connection, account, password)
            return "yes"
        except people.SignInRefused as refused:
            return refused.words.template
        finally:
            await connection.close()

    return asyncio.run(attempt())


def test_create_list_reset_disable(database_url):
    created = whistle(
        database_url, "users", "create", "--account", "Wang.Li", "--name", "王力", "--org", "HP-DF", "--role", "street"
    )
    assert created.exit_code == 0, created.output
    password = created.stdout.strip().splitlines()[0]
    assert len(password) >= 16 and "wang.li" in created.stderr  # accounts are lower case
    assert signs_in(database_url, "wang.li", password) == "yes"

    listed = whistle(database_url, "users", "list", "--org", "HP-DF")
    assert listed.exit_code == 0 and "wang.li" in listed.stdout and "王力" in listed.stdout
    assert password not in listed.stdout and "一次性密码" in listed.stdout

    reset = whistle(database_url, "users", "reset", "wang.li")
    assert reset.exit_code == 0, reset.output
    new_password = reset.stdout.strip().splitlines()[0]
    assert signs_in(database_url, "wang.li", password) == people.WRONG
    assert signs_in(database_url, "wang.li", new_password) == "yes"

    assert whistle(database_url, "users", "disable", "wang.li").exit_code == 0
    assert signs_in(database_url, "wang.li", new_password) == people.WRONG
    assert "已停用" in whistle(database_url, "users", "list", "--org", "HP-DF").stdout


def test_refusals_are_one_line_and_store_nothing(database_url):
    cases = {
        ("create", "--account", "x.one", "--name", "甲", "--org", "PM-HUAXIA", "--role", "street"): "STREET role is",
        ("create", "--account", "x.two", "--name", "乙", "--org", "NOWHERE", "--role", "street"): "unknown",
        ("create", "--account", "x.three", "--name", "丙", "--org", "HP-DF", "--role", "intake"): "intake desks",
        ("create", "--account", "no spaces", "--name", "丁", "--org", "HP-DF", "--role", "street"): "account",
        ("disable", "nobody"): "no person with the account 'nobody'",
        ("reset", "nobody"): "no person with the account 'nobody'",
    }
    for args, words in cases.items():
        refused = whistle(database_url, "users", *args)
        assert refused.exit_code == 1 and words in refused.stderr, (args, refused.output)
    assert "x.one" not in whistle(database_url, "users", "list").stdout
    duplicate = ("create", "--account", "x.four", "--name", "戊", "--org", "HP-DF", "--role", "street")
    assert whistle(database_url, "users", *duplicate).exit_code == 0
    again = whistle(database_url, "users", *duplicate)
    assert again.exit_code == 1 and "exists already" in again.stderr


def test_migrate_creates_the_first_administrator_once(database_url):
    first = whistle(database_url, "migrate", "--admin-org", "HP-CENTRE")
    assert first.exit_code == 0, first.output
    password = first.stdout.strip().splitlines()[-1]
    assert signs_in(database_url, "admin", password) == "yes"
    again = whistle(database_url, "migrate", "--admin-org", "HP-CENTRE")
    assert again.exit_code == 0 and password not in again.stdout and again.stdout.strip() == ""
