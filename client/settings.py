"""Process configuration from the environment (flags on the CLI override it)."""

import os
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import BaseModel, Field, SecretStr, field_validator


class Settings(BaseModel):
    temporal_address: str | None = None  # None: `whistle dev` starts its own dev server
    temporal_namespace: str = "default"
    temporal_tls: bool | None = None  # None: TLS exactly when an API key is set (Temporal Cloud)
    temporal_api_key: str | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    database_url: str | None = None  # None: `whistle dev` starts an embedded PostgreSQL
    task_queue: str = "whistle"
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    data_dir: Path = Path(".whistle")
    log_format: Literal["console", "json"] = "console"
    max_cached_workflows: int | None = Field(default=None, ge=0)  # None: workers.worker.CACHED_WORKFLOWS
    # The SLA policy of every case reported without one (residents never choose): e.g. demo-fast for a
    # training or acceptance stack whose deadlines should pass in seconds. Checked against the registry at start.
    default_policy: str = "default"
    # Where people reach the API and the resident's pages (links in notifications, photo URLs); None: the
    # address each request came to.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")
    photo_dir: Path | None = None  # None: <data_dir>/photos
    # Reports without an API key (residents), per client IP and per phone number; photo uploads per IP.
    # Rate-limit strings of the `limits` library ("5/minute", "10/day;3/hour"), kept in `rate_limit_storage`
    # (memory:// counts per API process; redis://… shares the counts between processes).
    report_rate_limit: str = "5/minute"
    phone_rate_limit: str = "10/day"
    upload_rate_limit: str = "30/minute"
    rate_limit_storage: str = "memory://"
    # Payload encryption (client/payload_codec.py): `<id>:<base64 key>` entries and/or a file of them; the first
    # encrypts, all decrypt. Neither set: payloads stay plain (`whistle dev` makes itself a key file).
    payload_keys: SecretStr | None = None
    payload_key_file: Path | None = None
    temporal_ui_origin: str | None = None  # the Temporal Web UI allowed to call the codec server (CORS)
    temporal_metrics: str | None = None  # host:port of the Temporal SDK's Prometheus endpoint (the worker's)
    # Sign-in cookies only over https, also when a proxy ends TLS and the API sees plain http (production).
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values: dict = {
            "temporal_address": env.get("TEMPORAL_ADDRESS"),
            "temporal_namespace": env.get("TEMPORAL_NAMESPACE", "default"),
            "temporal_tls": env.get("TEMPORAL_TLS") or None,
            "temporal_api_key": env.get("TEMPORAL_API_KEY"),
            "temporal_tls_cert": env.get("TEMPORAL_TLS_CERT"),
            "temporal_tls_key": env.get("TEMPORAL_TLS_KEY"),
            "database_url": env.get("DATABASE_URL"),
            "task_queue": env.get("WHISTLE_TASK_QUEUE", "whistle"),
            "api_host": env.get("WHISTLE_API_HOST", "127.0.0.1"),
            "api_port": env.get("WHISTLE_API_PORT", 8000),
            "temporal_port": env.get("WHISTLE_TEMPORAL_PORT", 7233),
            "temporal_ui_port": env.get("WHISTLE_TEMPORAL_UI_PORT", 8233),
            "data_dir": env.get("WHISTLE_DATA_DIR", ".whistle"),
            "log_format": env.get("WHISTLE_LOG_FORMAT", "console"),
            "max_cached_workflows": env.get("WHISTLE_MAX_CACHED_WORKFLOWS") or None,
            "default_policy": env.get("WHISTLE_DEFAULT_POLICY") or "default",
            "public_url": env.get("WHISTLE_PUBLIC_URL") or None,
            "photo_dir": env.get("WHISTLE_PHOTO_DIR") or None,
            "report_rate_limit": env.get("WHISTLE_REPORT_RATE_LIMIT") or "5/minute",
            "phone_rate_limit": env.get("WHISTLE_PHONE_RATE_LIMIT") or "10/day",
            "upload_rate_limit": env.get("WHISTLE_UPLOAD_RATE_LIMIT") or "30/minute",
            "rate_limit_storage": env.get("WHISTLE_RATE_LIMIT_STORAGE") or "memory://",
            "payload_keys": env.get("WHISTLE_PAYLOAD_KEYS") or None,
            "payload_key_file": env.get("WHISTLE_PAYLOAD_KEY_FILE") or None,
            "temporal_ui_origin": env.get("WHISTLE_TEMPORAL_UI_ORIGIN") or None,
            "temporal_metrics": env.get("WHISTLE_TEMPORAL_METRICS") or None,
            "secure_cookies": env.get("WHISTLE_SECURE_COOKIES") or False,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls.model_validate(values)

    @field_validator("report_rate_limit", "phone_rate_limit", "upload_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parse_many(value)  # ValueError names what is wrong
        return value

    @property
    def photos(self) -> Path:
        return self.photo_dir or self.data_dir / "photos"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SystemExit("DATABASE_URL is not set (or run `whistle dev`, which starts its own PostgreSQL)")
        return self.database_url

    def require_temporal_address(self) -> str:
        if not self.temporal_address:
            raise SystemExit("TEMPORAL_ADDRESS is not set (or run `whistle dev`, which starts its own Temporal)")
        return self.temporal_address
