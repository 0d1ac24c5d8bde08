"""docker-compose.yml can't run here (no Docker engine), so check it refers only to things that exist."""

import re
import shlex
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from devstack.dev import RETENTION, temporal_cli_type
from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
WHISTLE = sorted(name for name, service in SERVICES.items() if "build" in service)
REQUIRED_ENV = {
    "worker": {"TEMPORAL_ADDRESS", "DATABASE_URL"},
    "api": {"TEMPORAL_ADDRESS", "DATABASE_URL"},
    "migrate": {"DATABASE_URL"},
}


def test_the_production_shape_is_complete():
    assert {"postgres", "temporal", "temporal-ui", "migrate", "worker", "api"} <= SERVICES.keys()
    assert set(REQUIRED_ENV) <= set(WHISTLE)
    assert "postgres" in str(SERVICES["temporal"]["environment"]).lower()  # Temporal persists to PostgreSQL


@pytest.mark.parametrize("name", WHISTLE)
def test_build_context_holds_the_whistle_image(name):
    build = SERVICES[name]["build"]
    context = ROOT / (build if isinstance(build, str) else build["context"])
    dockerfile = context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
    assert dockerfile.is_file()
    assert 'ENTRYPOINT ["whistle"]' in dockerfile.read_text()
    assert (context / "pyproject.toml").is_file()


@pytest.mark.parametrize("name", WHISTLE)
def test_command_is_a_real_whistle_command(name):
    command = SERVICES[name]["command"]
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, f"`whistle {' '.join(command)}`: {result.output}"


@pytest.mark.parametrize("name", sorted(REQUIRED_ENV))
def test_environment_points_at_services_in_the_file(name):
    environment = SERVICES[name]["environment"]
    assert REQUIRED_ENV[name] <= environment.keys()
    settings_source = (ROOT / "client" / "settings.py").read_text()
    for variable in environment:
        assert f'"{variable}"' in settings_source, f"{variable} is not read by client/settings.py"

    database = urlsplit(environment["DATABASE_URL"])
    postgres = SERVICES["postgres"]["environment"]
    assert database.hostname in SERVICES
    assert (database.username, database.password, database.path.lstrip("/")) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    if "TEMPORAL_ADDRESS" in environment:
        host, port = environment["TEMPORAL_ADDRESS"].split(":")
        assert host in SERVICES and port == "7233"


def test_ports_are_sane():
    published: list[int] = []
    for name, service in SERVICES.items():
        for mapping in service.get("ports", []):
            host, container = (int(part) for part in str(mapping).split(":"))
            assert 0 < host < 65536 and 0 < container < 65536, f"{name}: {mapping}"
            published.append(host)
    assert len(published) == len(set(published)), "a host port is published twice"
    api_command = SERVICES["api"]["command"]
    api_port = api_command[api_command.index("--port") + 1]
    assert f"8000:{api_port}" in SERVICES["api"]["ports"]
    assert api_command[api_command.index("--host") + 1] == "0.0.0.0"  # reachable from outside the container


def test_depends_on_names_services():
    for name, service in SERVICES.items():
        assert set(service.get("depends_on", [])) <= SERVICES.keys(), name


def test_temporal_setup_registers_every_search_attribute():
    script = SERVICES["temporal-setup"]["command"][0]
    registered: dict[str, str] = {}
    for step in script.split("&&"):
        words = shlex.split(step)
        if "search-attribute" in words:
            kind = words[words.index("--type") + 1]
            registered |= {words[i + 1]: kind for i, word in enumerate(words) if word == "--name"}
    assert registered == {key.name: temporal_cli_type(key) for key in search_attributes.ALL}


def test_temporal_setup_sets_the_retention_of_closed_workflows_explicitly():
    """The image's default namespace keeps closed workflows 24 h; compose keeps them as long as `whistle dev`."""
    steps = [shlex.split(step) for step in SERVICES["temporal-setup"]["command"][0].split("&&")]
    updates = [words for words in steps if words[:4] == ["temporal", "operator", "namespace", "update"]]
    assert len(updates) == 1
    words = updates[0]
    assert words[words.index("--namespace") + 1] == SERVICES["worker"]["environment"]["TEMPORAL_NAMESPACE"]
    configurable = re.fullmatch(r"\$\{WHISTLE_TEMPORAL_RETENTION:-(\d+)d\}", words[words.index("--retention") + 1])
    assert configurable is not None, "retention: ${WHISTLE_TEMPORAL_RETENTION:-<days>d}"
    assert timedelta(days=int(configurable.group(1))) == RETENTION
