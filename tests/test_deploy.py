"""The deployment files: docker-compose.yml against the Compose specification's structure and the
app's own Settings, the Dockerfile's guarantees, and `docker compose config` where Docker is."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from urllib.parse import urlsplit

import pytest
import yaml

from bot.config import Settings
from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
# From the Compose specification (compose-spec.json), the keys this file may use.
TOP_LEVEL = {"version", "name", "include", "services", "models", "networks", "volumes", "secrets", "configs"}
SERVICE_KEYS = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "restart", "depends_on", "volumes",
    "healthcheck", "expose", "ports", "security_opt", "cap_drop", "cap_add", "stop_grace_period", "user",
    "read_only", "tmpfs", "deploy", "networks", "labels", "logging", "init", "working_dir", "secrets", "configs",
}  # fmt: skip
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
VARIABLE = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` / `${VAR:?error}` with an empty environment (required ones filled)."""
    value = VARIABLE.sub(lambda m: m.group(3) if m.group(2) == "-" else ("required" if m.group(2) else ""), value)
    return value.replace("$$", "$")


def advisor_services(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if s.get("image", "").startswith("circular-advisor")}


def test_compose_follows_the_specification(compose):
    assert set(compose) - TOP_LEVEL <= {k for k in compose if k.startswith("x-")}
    for name, service in compose["services"].items():
        assert re.fullmatch(r"[a-zA-Z0-9._-]+", name)
        assert set(service) <= SERVICE_KEYS, (name, set(service) - SERVICE_KEYS)
        for key, value in service.get("environment", {}).items():
            assert isinstance(value, str | int | float | bool) or value is None, (name, key)
        check = service.get("healthcheck")
        if check:
            assert set(check) <= HEALTHCHECK_KEYS and check["test"][0] in ("CMD", "CMD-SHELL")
            assert all(DURATION.match(check[k]) for k in ("interval", "timeout", "start_period") if k in check)
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in compose["services"] and cond["condition"] in CONDITIONS
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith((".", "/")):  # a named volume must be declared
                assert source in compose["volumes"], source
        if "stop_grace_period" in service:
            assert DURATION.match(service["stop_grace_period"])


def test_long_running_services_have_healthchecks_and_start_in_order(compose):
    services = compose["services"]
    for name in ("postgres", "chroma", "bot"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "unless-stopped"
    deps = services["bot"]["depends_on"]
    assert deps["postgres"]["condition"] == deps["chroma"]["condition"] == "service_healthy"
    assert deps["ingest"]["condition"] == "service_completed_successfully"
    assert services["ingest"]["command"] == ["ingest"] and services["bot"]["command"] == ["run"]
    assert services["postgres"]["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert services["chroma"]["volumes"] == ["chroma-data:/data"]  # where Chroma 1.x persists
    assert "ports" not in services["chroma"] and "ports" not in services["postgres"]  # internal only
    probe = " ".join(services["chroma"]["healthcheck"]["test"])
    assert "/api/v2/heartbeat" in probe and "$$status" in probe  # $$: not a compose variable


def test_compose_environment_configures_the_app(compose, monkeypatch):
    fields = {f"ADVISOR_{name.upper()}" for name in Settings.model_fields}
    services = advisor_services(compose)
    assert set(services) == {"bot", "ingest"}
    env = services["bot"]["environment"]
    unknown = {k for k in env if k.startswith("ADVISOR_")} - fields
    assert not unknown, f"not Settings fields: {unknown}"
    for key in [k for k in os.environ if k.startswith("ADVISOR_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, interpolate(str(value)))
    settings = Settings(_env_file=None)  # every value validates (ports, days, modes)
    assert settings.chroma_mode == "http" and settings.chroma_host in compose["services"]
    assert settings.telegram_token is not None and settings.telegram_webhook_url is None  # polling by default
    assert not settings.llm_configured and settings.retention_days == 180
    db = urlsplit(settings.database_url)
    pg = compose["services"]["postgres"]["environment"]
    assert db.scheme == "postgresql+asyncpg" and db.hostname == "postgres" and db.port == 5432
    assert db.username == pg["POSTGRES_USER"] and db.path == f"/{pg['POSTGRES_DB']}"
    assert settings.metrics_port == 9108 and settings.telegram_webhook_port == 8443
    assert {"8443", "9108"} <= set(compose["services"]["bot"]["expose"])


def test_secrets_come_from_the_environment_only(compose):
    env = compose["services"]["bot"]["environment"]
    secrets = ("ADVISOR_TELEGRAM_TOKEN", "ADVISOR_LLM_API_KEY", "ADVISOR_TELEGRAM_WEBHOOK_SECRET", "LANGSMITH_API_KEY")
    for key in secrets:
        assert VARIABLE.fullmatch(env[key]), key  # interpolated, never written in the file
    assert "${POSTGRES_PASSWORD:?" in env["ADVISOR_DATABASE_URL"]
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    secret_fields = {n for n, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)}
    assert {"telegram_token", "telegram_webhook_secret", "llm_api_key", "embedding_api_key"} <= secret_fields


def test_chroma_server_matches_the_client():
    image = yaml.safe_load(COMPOSE.read_text())["services"]["chroma"]["image"]
    server = image.split(":")[1].split(".")[:2]
    assert server == version("chromadb").split(".")[:2], "bump the chromadb/chroma image with the client"


def test_dockerfile_guarantees():
    text = DOCKERFILE.read_text()
    instructions = [line.split()[0] for line in text.splitlines() if line and not line[0].isspace()]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert instructions.count("FROM") == 2  # build stage, slim runtime stage
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert text.index("USER advisor") < text.index("advisor ingest") < text.index("ENTRYPOINT")
    assert re.search(r"RUN --network=none .*E5\(\)", text)  # the model loads with no network
    assert "advisor ingest" in text.split("RUN --network=none", 1)[1]
    assert "HEALTHCHECK" in text and "bot.observability.probe" in text and "healthz" in text
    env = dict(re.findall(r"(ADVISOR_\w+)=(\S+)", text))
    assert set(env) <= {f"ADVISOR_{n.upper()}" for n in Settings.model_fields}
    assert int(env["ADVISOR_METRICS_PORT"]) == Settings.model_fields["metrics_port"].default
    assert re.search(r"^EXPOSE .*\b9108\b", text, re.M)


def test_listeners_default_to_loopback_and_the_container_opens_them(compose):
    """/metrics has no authentication and used to listen on 0.0.0.0 by default."""
    listeners = ("ADVISOR_METRICS_LISTEN", "ADVISOR_TELEGRAM_WEBHOOK_LISTEN")
    for key in listeners:
        assert Settings.model_fields[key.removeprefix("ADVISOR_").lower()].default == "127.0.0.1"
    image = dict(re.findall(r"(ADVISOR_\w+)=(\S+)", DOCKERFILE.read_text()))
    env = compose["services"]["bot"]["environment"]
    assert all(image[key] == env[key] == "0.0.0.0" for key in listeners)  # for the balancer and Prometheus
    assert "ports" not in compose["services"]["bot"]  # reachable on the compose network only


def test_dockerignore_keeps_secrets_and_personal_data_out():
    ignored = (REPO / ".dockerignore").read_text().split()
    for pattern in (".env", ".git", ".venv", "knowledge/ambassadors.yaml", "tests"):
        assert pattern in ignored, pattern


def test_healthcheck_probe_imports_only_the_standard_library():
    watched = "{'bot', 'structlog', 'chromadb', 'pydantic'}"
    code = f"import sys, bot.observability.probe; print(sorted(m for m in sys.modules if m.split('.')[0] in {watched}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "['bot', 'bot.observability', 'bot.observability.probe']"


def test_docker_compose_config_validates(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose is not installed here (the structure is checked above)")
    env = {**os.environ, "ADVISOR_TELEGRAM_TOKEN": "123:abc", "POSTGRES_PASSWORD": "pw"}
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr


def _requirements() -> list[str]:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [r for r in project["dependencies"] + extras if not r.startswith("circular-advisor")]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_file_pins_every_dependency_within_its_range():
    """`make` and CI install with `-c requirements.lock`: an unpinned or out-of-range dependency
    would float to whatever the registry has that day."""
    from packaging.requirements import Requirement

    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[name.lower().replace("_", "-")] = pinned
    for requirement in map(Requirement, _requirements()):
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in requirements.lock (run `make lock`)"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"


def test_zero_x_dependencies_have_an_upper_bound():
    """A 0.x release may break its API in any minor version."""
    from packaging.requirements import Requirement

    for requirement in map(Requirement, _requirements()):
        lower = [s.version for s in requirement.specifier if s.operator in (">=", "==")]
        if lower and lower[0].startswith("0."):
            assert any(s.operator in ("<", "==", "<=", "~=") for s in requirement.specifier), requirement
