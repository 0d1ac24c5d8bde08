"""Commands that serve nothing start without loading what serves: `whistle case …`, `task …`, `keys …` pay for
every module they import, on every call (an operator's shell, the README walk-throughs, the CLI tests)."""

import subprocess
import sys

SERVING = ("fastapi", "uvicorn", "api.app", "devstack.services", "workers.worker")


def test_the_cli_loads_the_api_and_the_worker_only_for_the_commands_that_run_them():
    probe = f"import sys, cli.app; print([m for m in {SERVING!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout
