"""FastAPI dependencies for what the app holds: its settings, the Temporal client and the read-model pool."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from client.settings import Settings


def temporal_client(request: Request) -> Client:
    return request.app.state.temporal


def db_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.db


TemporalClient = Annotated[Client, Depends(temporal_client)]
DbPool = Annotated[asyncpg.Pool, Depends(db_pool)]


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(app_settings)]
