"""`whistle keys create|list|revoke` against a real database: keys are printed once and stored hashed."""

import asyncio
import hashlib

import asyncpg
from typer.testing import CliRunner

from cli.app import app

runner = CliRunner()


def whistle(database_url: str, *args: str):
    return runner.invoke(app, ["keys", *args, "--database-url", database_url])


def stored(database_url: str, key_id: str) -> asyncpg.Record:
    async def fetch():
        connection = await asyncpg.connect(database_url)
        try:
            return await connection.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", key_id)
        finally:
            await connection.close()

    return asyncio.run(fetch())


def test_create_list_revoke(database_url):
    created = whistle(database_url, "create", "--org", "PM-HUAXIA", "--role", "council", "--label", "front desk")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    key_id = key.split("_")[1]
    row = stored(database_url, key_id)
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest() and key not in dict(row).values()
    assert (row["org"], row["role"], row["label"]) == ("PM-HUAXIA", "COUNCIL", "front desk")

    listed = whistle(database_url, "list", "--org", "PM-HUAXIA")
    assert listed.exit_code == 0 and key_id in listed.stdout and key not in listed.stdout

    revoked = whistle(database_url, "revoke", key_id)
    assert revoked.exit_code == 0 and stored(database_url, key_id)["revoked_at"] is not None
    intake = whistle(database_url, "create", "--org", "GRID-DF", "--role", "intake", "--channel", "grid")
    assert intake.exit_code == 0, intake.output


def test_refusals_are_one_line_and_store_nothing(database_url):
    cases = {
        ("create", "--org", "PM-HUAXIA", "--role", "department"): "a DEPARTMENT key is for DEPARTMENT",
        ("create", "--org", "NOWHERE", "--role", "street"): "unknown organisation 'NOWHERE'",
        ("create", "--org", "HOTLINE", "--role", "intake"): "needs the channel",
        ("create", "--org", "HP-DF", "--role", "street", "--channel", "hotline"): "only intake keys have a channel",
        ("revoke", "nope"): "no key with id 'nope'",
    }
    for args, message in cases.items():
        result = whistle(database_url, *args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
