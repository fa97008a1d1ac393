"""The deployment files under deploy/: they parse, name real settings, hold no secret.

Nothing here builds an image or talks to a cluster (no container runtime or
Helm is needed); these are the checks that catch the usual drift: a setting
renamed in bot/settings.py but not in the compose file, a password pasted
into a values file, a Rasa port published to the host, a buffered event
stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from ruamel.yaml import YAML

from bot.runner.rasa_env import rasa_server_env
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
HELM = DEPLOY / "helm"
CHART = HELM / "cardbot-gateway"
RASA_VALUES = HELM / "rasa-values.yaml"
ACTION_VALUES = HELM / "rasa-action-server-values.yaml"
NGINX = DEPLOY / "nginx" / "nginx.conf"
INTERNAL_NGINX = DEPLOY / "nginx" / "internal.conf"

# The services compose runs from our app image, and what each must be.
APP_SERVICES = {"migrate", "actions", "gateway", "reminders", "seed"}
# Names compose itself reads (images, ports, networks, database passwords):
# not settings of ours, but allowed in deploy/.env.example.
SECRET_OBJECT = "cardbot-secrets"
NON_SETTING_SECRET_KEYS = {"POSTGRES_PASSWORD", "REDIS_PASSWORD"}

REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(?:(?::?[?-])[^}]*)?\}$")
CONTAINS_REFERENCE = re.compile(r"\$\{[A-Z][A-Z0-9_]*[^}]*\}|\$\([A-Z][A-Z0-9_]*\)")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
SECRET_KEY = re.compile(r"(?i)password|token|secret|auth")
URL_PASSWORD = re.compile(r"://[^/@\s:]*:(?P<password>[^@\s]+)@")


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def setting_names() -> set[str]:
    """Every environment variable `Settings` reads (field names or their aliases)."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias or field.alias
        names.add(alias.upper() if isinstance(alias, str) else name.upper())
    return names


def secret_setting_names() -> set[str]:
    return {
        name.upper()
        for name, field in Settings.model_fields.items()
        if field.annotation is SecretStr
    }


def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE)
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "use the mapping form of `environment`"
    return {str(key): str(value) for key, value in env.items()}


def walk(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, scalar) pair of a YAML tree; list items carry their list's key."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield from walk(child, str(child_key))
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, key)
    else:
        yield key, node


def hard_coded_secrets(tree: Any) -> list[str]:
    """Secret-looking values that are literals rather than references."""
    problems = []
    for key, value in walk(tree):
        if not isinstance(value, str):
            continue
        for match in URL_PASSWORD.finditer(value):
            if not match.group("password").startswith(("${", "$(")):
                problems.append(f"{key}: password inside a URL")
        if (
            SECRET_KEY.search(key)
            and value
            and not (
                REFERENCE.match(value)
                or CONTAINS_REFERENCE.search(value)
                or ENV_NAME.match(value)  # a Secret's key name, e.g. RASA_TOKEN
                or value == SECRET_OBJECT
            )
        ):
            problems.append(f"{key}: {value[:4]}…")
        if value.startswith("--auth-token") and not CONTAINS_REFERENCE.search(value):
            problems.append(f"{key}: literal --auth-token")
    return problems


def nginx_blocks(text: str, head: str) -> list[str]:
    """The bodies of every `head { … }` block of an nginx config (nesting aware)."""
    text = re.sub(r"#[^\n]*", "", text)
    bodies = []
    for match in re.finditer(re.escape(head) + r"\s*\{", text):
        depth, start = 1, match.end()
        index = start
        while depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        bodies.append(text[start : index - 1])
    return bodies


def directives(body: str) -> list[str]:
    """Top-level directives of a block body, nested blocks left out."""
    flat, depth = [], 0
    for char in body:
        depth += char == "{"
        if depth == 0:
            flat.append(char)
        depth -= char == "}"
    return [" ".join(part.split()) for part in "".join(flat).split(";") if part.strip()]


# --- every file parses ---------------------------------------------------------------


def test_every_yaml_under_deploy_parses() -> None:
    files = sorted(
        path
        for path in DEPLOY.rglob("*")
        if path.suffix in (".yaml", ".yml") and "templates" not in path.parts
    )
    names = {path.relative_to(DEPLOY).as_posix() for path in files}
    assert {
        "compose.yaml",
        "helm/rasa-values.yaml",
        "helm/rasa-action-server-values.yaml",
        "helm/cardbot-gateway/Chart.yaml",
        "helm/cardbot-gateway/values.yaml",
    } <= names
    for path in files:
        assert isinstance(load_yaml(path), dict), path


def test_the_secret_check_catches_literals() -> None:
    """The detector used below flags what it should (so a pass means something)."""
    assert hard_coded_secrets({"POSTGRES_PASSWORD": "hunter2hunter2"})
    assert hard_coded_secrets({"DATABASE_URL": "postgresql://u:hunter2@db/x"})
    assert hard_coded_secrets({"args": ["--auth-token=abc123"]})
    assert not hard_coded_secrets(
        {
            "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set it}",
            "DATABASE_URL": "postgresql://u:${POSTGRES_PASSWORD}@db/x",
            "args": ["--auth-token=$(CARDBOT_RASA_TOKEN)"],
            "key": "RASA_TOKEN",
            "existingSecret": SECRET_OBJECT,
        }
    )


# --- compose ---------------------------------------------------------------------------


def test_compose_app_services_set_only_real_settings() -> None:
    found = {
        name
        for name, service in services().items()
        if service.get("image", "").startswith("${CARDBOT_IMAGE")
    }
    assert found == APP_SERVICES
    known = setting_names()
    for name in APP_SERVICES:
        env = environment(services()[name])
        assert {"DATABASE_URL", "REDIS_URL", "RASA_URL", "ACTION_SERVER_URL"} <= env.keys(), name
        assert env.keys() <= known, f"{name}: not settings: {sorted(env.keys() - known)}"
    gateway = environment(services()["gateway"])
    assert gateway["GATEWAY_HOST"] == "0.0.0.0"
    # The SMS spool survives a container's replacement (a volume per replica).
    assert services()["gateway"]["volumes"] == [gateway["SPOOL_DIR"]]


def production_settings(password: str) -> Settings:
    """What compose.yaml wires, as `Settings` (init arguments beat the environment)."""
    timeout = Settings.model_fields["rasa_timeout_seconds"].default
    return Settings(
        _env_file=None,
        database_url=f"postgresql://cardbot:{password}@postgres:5432/cardbot",
        redis_url=f"redis://:{password}@redis:6379/1",
        action_server_url="http://internal-lb:5055",
        rasa_timeout_seconds=timeout,
    )


def test_compose_rasa_gets_what_make_run_would_give_it() -> None:
    endpoints = (ROOT / "endpoints.yml").read_text(encoding="utf-8")
    read = set(re.findall(r"\$\{([A-Z_]+)\}", endpoints))
    # `make run` prepares Rasa's environment from the settings (bot/runner/rasa_env.py);
    # compose must set the same variables to the same values for PostgreSQL and Redis.
    expected = rasa_server_env(production_settings("PW"))
    assert read <= expected.keys()
    env = environment(services()["rasa"])
    secret = re.compile(r"\$\{(?:POSTGRES|REDIS)_PASSWORD[^}]*\}")
    assert {name: secret.sub("PW", env.get(name, "")) for name in expected} == expected
    assert env.keys() - expected.keys() == {"RASA_TOKEN"}
    # Rasa's own pool would be 50 + 100 connections per server.
    assert int(env["SQL_POOL_SIZE"]) + int(env["SQL_MAX_OVERFLOW"]) <= 20
    serve = (DEPLOY / "docker" / "rasa-serve.sh").read_text(encoding="utf-8")
    assert '"--auth-token=${RASA_TOKEN}"' in serve


def test_compose_scales_out_behind_one_migration() -> None:
    replicas = {
        name: service.get("deploy", {}).get("replicas", 1) for name, service in services().items()
    }
    assert replicas["rasa"] >= 2 and replicas["gateway"] >= 2 and replicas["actions"] >= 2
    assert replicas["reminders"] == 1
    assert services()["migrate"]["command"] == ["python", "-m", "bot", "db", "upgrade"]
    for name in ("actions", "rasa", "gateway", "reminders"):
        condition = services()[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    # Through the internal balancer, never one fixed replica.
    assert environment(services()["gateway"])["RASA_URL"] == "http://internal-lb:5005"


def test_compose_publishes_only_nginx() -> None:
    published = {name for name, service in services().items() if service.get("ports")}
    assert published == {"nginx"}
    assert services()["nginx"]["ports"] == ["${HTTP_PORT:-80}:80"]
    for name in ("rasa", "actions", "internal-lb", "postgres", "redis"):
        assert "ports" not in services()[name], name


def test_compose_has_healthchecks_and_restart_policies() -> None:
    checks = {
        name: " ".join(s["healthcheck"]["test"])
        for name, s in services().items()
        if "healthcheck" in s
    }
    assert "/healthz" in checks["gateway"]
    assert "/health" in checks["actions"]
    assert "5005/" in checks["rasa"]
    for name, service in services().items():
        expected = "no" if name in ("migrate", "seed") else "unless-stopped"
        assert service.get("restart") == expected, name


def test_compose_holds_no_literal_secret() -> None:
    assert hard_coded_secrets(compose()) == []
    redis_command = services()["redis"]["command"]
    password = redis_command[redis_command.index("--requirepass") + 1]
    assert REFERENCE.match(password)
    for name in APP_SERVICES:
        assert services()[name]["env_file"] == ".env", name


def test_deploy_env_example_names_real_variables_and_no_secret() -> None:
    text = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    entries = dict(
        line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line)
    )
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text(encoding="utf-8")))
    unknown = entries.keys() - setting_names() - interpolated
    assert not unknown, f"neither settings nor used by compose.yaml: {sorted(unknown)}"
    for name in secret_setting_names() | NON_SETTING_SECRET_KEYS:
        assert entries.get(name, "") == "", f"{name} must be blank in the example"
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "RASA_TOKEN", "SESSION_SECRET"} <= entries.keys()


# --- nginx -------------------------------------------------------------------------------


def test_nginx_streams_desk_events_unbuffered() -> None:
    text = NGINX.read_text(encoding="utf-8")
    (events,) = nginx_blocks(text, "location = /desk/api/events")
    assert "proxy_buffering off" in directives(events)
    assert "proxy_pass http://gateways" in directives(events)
    (default,) = nginx_blocks(text, "location /")
    assert "proxy_buffering off" not in directives(default)
    # The route is real (bot/desk/web.py).
    desk = (ROOT / "bot" / "desk" / "web.py").read_text(encoding="utf-8")
    assert 'add_get("/desk/api/events"' in desk


def test_nginx_upstreams_and_forwarded_headers() -> None:
    public = NGINX.read_text(encoding="utf-8")
    (gateways,) = nginx_blocks(public, "upstream gateways")
    assert "server gateway:8000 resolve" in directives(gateways)
    (server,) = nginx_blocks(public, "server")
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for" in directives(server)
    internal = INTERNAL_NGINX.read_text(encoding="utf-8")
    (rasa,) = nginx_blocks(internal, "upstream rasa")
    assert "server rasa:5005 resolve" in directives(rasa)
    # Rasa's token is a query parameter: the internal log format has no $request.
    assert "$request " not in internal and "$request_uri" not in internal


# --- Helm ------------------------------------------------------------------------------


def test_gateway_chart_sets_only_real_settings() -> None:
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2" and chart["name"] == CHART.name
    values = load_yaml(CHART / "values.yaml")
    assert values["env"].keys() <= setting_names()
    assert {"RASA_URL", "ACTION_SERVER_URL", "PUBLIC_BASE_URL", "TRUSTED_PROXIES"} <= values[
        "env"
    ].keys()
    templated = set()
    for template in (CHART / "templates").glob("*.yaml"):
        templated |= set(re.findall(r"- name: ([A-Z][A-Z0-9_]*)\n", template.read_text("utf-8")))
    assert templated == {"GATEWAY_HOST", "GATEWAY_PORT", "SPOOL_DIR"}
    assert templated <= setting_names()
    assert values["existingSecret"] == SECRET_OBJECT
    assert hard_coded_secrets(values) == []


def _has_path(tree: Any, dotted: str) -> bool:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return True


def test_gateway_chart_templates_use_only_defined_values() -> None:
    values = load_yaml(CHART / "values.yaml")
    used = set()
    for template in (CHART / "templates").iterdir():
        text = template.read_text(encoding="utf-8")
        assert text.count("{{") == text.count("}}"), template.name
        used |= set(re.findall(r"\.Values\.([A-Za-z0-9_.]+[A-Za-z0-9_])", text))
    assert "gateway.readinessProbe" in used
    missing = sorted(path for path in used if not _has_path(values, path))
    assert not missing, f"templates read values that values.yaml does not define: {missing}"


def test_gateway_chart_probes_hook_and_scheduler() -> None:
    values = load_yaml(CHART / "values.yaml")
    assert values["gateway"]["readinessProbe"]["httpGet"]["path"] == "/healthz"
    # Liveness must not depend on Rasa or the database (/healthz does).
    assert values["gateway"]["livenessProbe"]["httpGet"]["path"] != "/healthz"
    assert values["reminders"]["replicaCount"] == 1
    templates = CHART / "templates"
    job = (templates / "migrate-job.yaml").read_text(encoding="utf-8")
    assert '"helm.sh/hook": pre-install,pre-upgrade' in job
    assert 'command: ["python", "-m", "bot", "db", "upgrade"]' in job
    reminders = (templates / "reminders.yaml").read_text(encoding="utf-8")
    assert 'command: ["python", "-m", "bot", "reminders", "run"]' in reminders
    assert "type: Recreate" in reminders
    for name in ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"):
        assert (templates / name).is_file(), name


def test_rasa_values_scale_out_on_shared_stores() -> None:
    values = load_yaml(RASA_VALUES)
    settings = values["applicationSettings"]
    assert values["replicaCount"] >= 2
    assert settings["trainInitialModel"] is False and settings["initialModel"] == ""
    assert settings["rasaX"]["enabled"] is False
    endpoints = settings["endpoints"]
    tracker, lock = endpoints["trackerStore"], endpoints["lockStore"]
    assert tracker["enabled"] and tracker["dialect"] == "postgresql"
    assert lock["enabled"] and lock["type"] == "redis"
    assert values["service"]["type"] == "ClusterIP"
    assert values["postgresql"]["install"] is False and values["postgresql"]["external"]["enabled"]
    assert values["redis"]["external"]["enabled"]
    # The token: every $(VAR) in args is defined in extraEnv from our Secret.
    defined = {env["name"]: env for env in values["extraEnv"]}
    for name in re.findall(r"\$\(([A-Z_]+)\)", " ".join(values["args"])):
        assert defined[name]["valueFrom"]["secretKeyRef"]["name"] == SECRET_OBJECT
    assert "--jwt-secret" not in values["args"]
    assert {"SQL_POOL_SIZE", "SQL_MAX_OVERFLOW"} <= defined.keys()
    assert "/app/models/model.tar.gz" in values["args"]
    assert hard_coded_secrets(values) == []


def test_action_server_values_set_only_real_settings_from_the_secret() -> None:
    values = load_yaml(ACTION_VALUES)
    env = {item["name"]: item for item in values["extraEnv"]}
    assert env.keys() <= setting_names()
    for name in env.keys() & (secret_setting_names() | {"DATABASE_URL", "REDIS_URL"}):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == SECRET_OBJECT, name
        assert "value" not in env[name], name
    assert values["service"]["type"] == "ClusterIP"
    assert values["readinessProbe"]["httpGet"]["path"] == "/health"
    assert values["command"] == ["python", "-m", "rasa_sdk"]
    assert hard_coded_secrets(values) == []


@pytest.mark.parametrize("path", [RASA_VALUES, ACTION_VALUES])
def test_values_files_say_which_chart_version_they_were_checked_against(path: Path) -> None:
    head = path.read_text(encoding="utf-8")[:1200]
    assert re.search(r"checked against chart `[a-z-]+` \d+\.\d+\.\d+", head)


# --- images ------------------------------------------------------------------------------


def _lock_version(lock: str, package: str) -> str:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(package)}==(\S+)$", text, re.MULTILINE)
    assert match, f"{package} not pinned in {lock}"
    return match.group(1)


def test_images_follow_the_lock_files_and_bake_no_secret() -> None:
    app = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    rasa = (DEPLOY / "docker" / "Dockerfile.rasa").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.10-slim$", app, re.MULTILINE)
    assert "pip install -r requirements/app.lock" in app
    users = re.findall(r"^USER (\S+)$", app, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    version = _lock_version("rasa.lock", "rasa")
    bases = re.findall(r"^FROM (\S+)", rasa, re.MULTILINE)
    assert bases and set(bases) == {f"rasa/rasa:{version}-full"}
    assert re.findall(r"^USER (\S+)$", rasa, re.MULTILINE)[-1] == "1001"
    for dockerfile in (app, rasa):
        declared = set(re.findall(r"^(?:ENV|ARG)\s+([A-Z_]+)", dockerfile, re.MULTILINE))
        assert not declared & (secret_setting_names() | NON_SETTING_SECRET_KEYS)
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored and "deploy/.env" in ignored
