"""Preconditions for starting a service, each failing with one specific line instead of a traceback."""

import asyncio
import errno
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities import db, registry
from client import temporal
from client.settings import Settings

_CONNECT_TIMEOUT_SECONDS = 15


class StartupError(Exception):
    """A service cannot start; the message is the whole explanation shown to the operator."""


class PostgresUnreachable(StartupError):
    """PostgreSQL does not answer: a service that can start without it (the API) goes on."""


def listen(host: str, port: int, what: str) -> socket.socket:
    """Bind the listening socket now, so a busy port is reported before anything else starts."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise StartupError(f"{what} port {port} on {host} is already in use") from None
        raise StartupError(f"cannot listen on {host}:{port} for {what}: {error.strerror or error}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def ensure_free(host: str, port: int, what: str) -> None:
    """For a port a child process will bind: check it is free just before starting that process."""
    listen(host, port, what).close()


def redact(url: str) -> str:
    """A database URL fit for logs and error messages: any password masked."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


async def connect_temporal(settings: Settings, address: str | None = None) -> Client:
    """A connected client whose namespace exists (the worker would otherwise fail later, less clearly)."""
    target = address or settings.require_temporal_address()
    namespace = settings.temporal_namespace
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT_SECONDS):
            client = await temporal.connect(settings, target)
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise StartupError(f"Temporal at {target} has no namespace {namespace!r}") from None
        raise StartupError(f"Temporal at {target} refused namespace {namespace!r}: {error.message}") from None
    except (RuntimeError, OSError, TimeoutError) as error:
        reason = str(error).splitlines()[0] if str(error) else "timed out"
        raise StartupError(f"Temporal at {target} is unreachable: {reason}") from None
    return client


@asynccontextmanager
async def _reaching_postgres(url: str) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT_SECONDS):
            yield
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise PostgresUnreachable(f"PostgreSQL at {redact(url)} is unreachable: {error or 'timed out'}") from None


async def connect_postgres(url: str) -> asyncpg.Connection:
    async with _reaching_postgres(url):
        return await db.connect(url)


async def create_pool(url: str) -> asyncpg.Pool:
    async with _reaching_postgres(url):
        return await db.create_pool(url)


async def check_default_policy(url: str, name: str) -> None:
    """The SLA policy of cases reported without one must be in the registry, or the service does not start."""
    connection = await connect_postgres(url)
    try:
        await registry.policy(connection, name)
    except asyncpg.UndefinedTableError:
        raise StartupError(f"PostgreSQL at {redact(url)} holds no registry yet: run `whistle migrate`") from None
    except registry.UnknownReference:
        known = await connection.fetchval("SELECT string_agg(name, ', ' ORDER BY name) FROM sla_policies")
        raise StartupError(f"WHISTLE_DEFAULT_POLICY {name!r} is not an SLA policy of the registry ({known})") from None
    finally:
        await connection.close()
