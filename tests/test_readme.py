"""The README's walk-throughs run as a reader runs them, so the README cannot drift from the code.

The ```sh blocks marked `<!-- readme-test: NAME -->` make up walk-through NAME, in README order. Each runs
with bash (`set -euo pipefail`) from a project directory whose `.venv` is this test's virtualenv, beside one
`whistle dev` on free ports; both walk-throughs run at the same time, twice on the same stack, since a
reader runs them in any order and more than once. Every step must succeed without a traceback, and what a
line promises with `# -> X` must be printed, in order.
"""

import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.devstack.test_dev_stack import whistle_dev

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- readme-test: (?P<name>[\w-]+) -->\n```sh\n(?P<script>.*?)```", re.DOTALL)
PROMISE = re.compile(r"# -> (\S+)")
WALKTHROUGHS = ("cli", "curl")
RUN_SECONDS = 600  # the CLI walk-through waits about 90 s for its demo-fast case to climb


def walkthrough(name: str) -> str:
    return "".join(block["script"] for block in BLOCK.finditer(README.read_text()) if block["name"] == name)


def promised(script: str) -> list[str]:
    return PROMISE.findall(script)


def run(script: str, cwd: Path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )


def assert_ran_as_promised(name: str, script: str, result: subprocess.CompletedProcess, round_: int) -> None:
    context = f"README walk-through {name!r}, run {round_}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, context
    assert "Traceback" not in result.stdout + result.stderr, context
    position = 0
    for text in promised(script):
        found = result.stdout.find(text, position)
        assert found >= 0, f"{text!r} was promised but not printed (after position {position}) in {context}"
        position = found + len(text)


def test_the_marked_blocks_make_up_both_walkthroughs():
    for name in WALKTHROUGHS:
        script = walkthrough(name)
        assert 'export PATH="$PWD/.venv/bin:$PATH"' in script.splitlines()[0], f"{name} must start by finding whistle"
        assert len(promised(script)) >= 5, f"{name} promises too little to check"


def test_readme_walkthroughs_run_twice_on_one_stack(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / ".venv").symlink_to(Path(sys.executable).parents[1])
    data_dir = tmp_path / "data"
    scripts = {name: walkthrough(name) for name in WALKTHROUGHS}
    with whistle_dev(data_dir, signal.SIGINT, to_group=True) as manifest:
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith(("TEMPORAL_", "DATABASE_URL", "API"))
        } | {"WHISTLE_DATA_DIR": str(data_dir), "API": manifest.api_url}
        for round_ in (1, 2):
            with ThreadPoolExecutor(len(scripts)) as executor:
                results = dict(
                    zip(
                        scripts,
                        executor.map(lambda script: run(script, project, environment), scripts.values()),
                        strict=True,
                    )
                )
            for name, result in results.items():
                assert_ran_as_promised(name, scripts[name], result, round_)
