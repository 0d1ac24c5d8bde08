"""Temporal client construction shared by the worker, the API, the CLI and the bench: one data converter
(pydantic values, encrypted when keys are configured), the request id passed on, the SDK's metrics."""

import dataclasses
import functools

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from client.payload_codec import PayloadCipher, PayloadKeyError, load_keys
from client.request_ids import RequestIdPropagation
from client.settings import Settings


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, sealed by the key ring when there is one. Failure messages stay plain (their details
    payloads are sealed): they are Whistle's own sentences, and a query's failure reaches the caller only as
    its message (`client.cases.wait_until_open` reads it), which the SDK never decodes."""
    secret = settings.payload_keys.get_secret_value() if settings.payload_keys else None
    try:
        keys = load_keys(secret, settings.payload_key_file)
    except PayloadKeyError as error:
        raise SystemExit(f"payload encryption: {error}") from None
    if not keys:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=PayloadCipher(keys))


@functools.cache
def _runtime(metrics_address: str) -> Runtime:
    """One runtime per process and address: the Prometheus endpoint binds its port once."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=metrics_address)))


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
        data_converter=data_converter(settings),
        interceptors=[RequestIdPropagation()],
        runtime=_runtime(settings.temporal_metrics) if settings.temporal_metrics else None,
        lazy=lazy,
    )
