"""Temporal client construction shared by the worker, the API and the CLI."""

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter

from client.settings import Settings


async def connect(settings: Settings, address: str | None = None, *, lazy: bool = False) -> Client:
    """A lazy client connects on its first call, so a server that is down now does not fail the caller."""
    tls: TLSConfig | bool | None = settings.temporal_tls
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    return await Client.connect(
        address or settings.require_temporal_address(),
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key,
        tls=tls,
        data_converter=pydantic_data_converter,
        lazy=lazy,
    )
