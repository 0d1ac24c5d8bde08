"""What a running `whistle dev` serves where, written to `<data dir>/dev.json` for the CLI to find."""

from pathlib import Path

from pydantic import BaseModel

from client.startup import StartupError

MANIFEST = "dev.json"


class DevManifest(BaseModel):
    pid: int
    api_url: str
    temporal_address: str
    temporal_namespace: str
    temporal_ui_url: str | None  # None when Temporal is external
    database_url: str
    task_queue: str
    default_policy: str = "default"
    payload_key_file: Path | None = None  # the key ring the CLI needs to read this stack's cases


def read_manifest(data_dir: Path, missing: str) -> DevManifest:
    """The manifest of the `whistle dev` running on `data_dir`; `missing` says what the caller lacked."""
    manifest_file = data_dir / MANIFEST
    if not manifest_file.exists():
        raise StartupError(f"{missing} and no `whistle dev` is running ({manifest_file} is missing)")
    return DevManifest.model_validate_json(manifest_file.read_text())
