"""The app refuses to start unsafe: no real SECRET_KEY with DEBUG off or in production; the
production settings pass `check --deploy`; compose requires its secrets and puts TLS in front."""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from natalizumab_monitor import deployment

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k3y-for-the-safeguard-tests-only-6f1e0b9c2a7d4e8f5a3b1c0d9e8f7a6b"
POSTGRES = "postgres://postgres@127.0.0.1:5432/never_connected"


# What the test's own process may have set that a deployment would not have: the browser
# tests allow Django's ORM beside Playwright's event loop (DJANGO_ALLOW_ASYNC_UNSAFE).
DEPLOYMENT_VARIABLES = (
    "SECRET_KEY",
    "DATABASE_URL",
    "DEPLOYMENT",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CACHE_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def manage(*arguments: str, tmp_path: Path, **environment: str | None) -> Any:
    """manage.py in a process of its own, with exactly the deployment variables given."""
    env = {key: value for key, value in os.environ.items() if key not in DEPLOYMENT_VARIABLES}
    env["NATALIZUMAB_VAR_DIR"] = str(tmp_path)
    env.update({key: value for key, value in environment.items() if value is not None})
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"SECRET_KEY": "embedded-mode-only-change-me-in-production"},
            "SECRET_KEY is a published default",
        ),
        ({"SECRET_KEY": "a-short-but-otherwise-random-key-8c1f"}, "SECRET_KEY is too short"),
        ({"DEPLOYMENT": "production", "DATABASE_URL": POSTGRES}, "SECRET_KEY is not set"),
        ({"DEPLOYMENT": "production", "DEBUG": "true"}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": GOOD_KEY, "DEPLOYMENT": "staging"}, "DEPLOYMENT must be one of"),
    ],
    ids=["default-key", "short-key", "production-no-key", "production-debug-no-key", "bad-mode"],
)
def test_the_app_refuses_to_start(tmp_path: Path, environment: dict, message: str) -> None:
    result = manage("check", tmp_path=tmp_path, **{"DEBUG": "false", **environment})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_the_embedded_mode_makes_its_own_key_once(tmp_path: Path) -> None:
    show = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = manage("shell", "-c", show, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = first.stdout.strip().splitlines()[-1]
    assert key == key_file.read_text().strip()
    assert len(key) >= deployment.MIN_SECRET_KEY_LENGTH
    again = manage("shell", "-c", show, tmp_path=tmp_path)
    assert again.stdout.strip().splitlines()[-1] == key
    # Another installation gets another key.
    assert deployment.installation_key(tmp_path / "other") != key


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        DEPLOYMENT="production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="monitor.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_cache_url_gives_the_redis_cache_and_none_the_local_memory(tmp_path: Path) -> None:
    show = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    redis = manage("shell", "-c", show, tmp_path=tmp_path, CACHE_URL="redis://:pw@redis:6379/1")
    assert redis.stdout.split()[-1] == "django.core.cache.backends.redis.RedisCache"
    local = manage("shell", "-c", show, tmp_path=tmp_path)
    assert local.stdout.split()[-1] == "django.core.cache.backends.locmem.LocMemCache"


def test_the_makefile_lint_runs_check_deploy() -> None:
    lint = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "check --deploy --fail-level WARNING" in lint
    assert "DEPLOYMENT=production" in lint


# --- docker compose ------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def interpolate(value: Any, environment: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution, enough to check."""
    if isinstance(value, dict):
        return {key: interpolate(item, environment) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environment) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, kind, word = match.groups()
        if environment.get(name):
            return environment[name]
        if kind == "?":
            raise LookupError(f"{name}: {word}")
        return word or ""

    return _VARIABLE.sub(substitute, value)


SECRETS = {
    "SECRET_KEY": GOOD_KEY,
    "POSTGRES_PASSWORD": "pg-0a1b2c3d",
    "REDIS_PASSWORD": "redis-4e5f6a7b",
    "SITE_DOMAIN": "monitor.example.org",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_keeps_every_service_and_adds_the_proxy(compose: dict[str, Any]) -> None:
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "hl7", "proxy"} <= set(
        compose["services"]
    )


@pytest.mark.parametrize("missing", ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "SECRET_KEY"])
def test_compose_will_not_start_without_its_secrets(compose: dict[str, Any], missing: str) -> None:
    environment = {key: value for key, value in SECRETS.items() if key != missing}
    with pytest.raises(LookupError, match=missing):
        interpolate(compose, environment)
    assert not re.search(rf"\$\{{{missing}:-", (ROOT / "docker-compose.yml").read_text())


def test_compose_passes_the_passwords_to_whoever_needs_them(compose: dict[str, Any]) -> None:
    services = interpolate(compose, SECRETS)["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-0a1b2c3d"
    redis = services["redis"]["command"]
    assert redis[redis.index("--requirepass") + 1] == "redis-4e5f6a7b"
    for name in ("migrate", "web", "worker", "beat", "hl7"):
        app = services[name]["environment"]
        assert app["DATABASE_URL"] == "postgres://monitor:pg-0a1b2c3d@postgres:5432/monitor"
        assert app["CELERY_BROKER_URL"] == "redis://:redis-4e5f6a7b@redis:6379/0"
        assert app["CACHE_URL"] == "redis://:redis-4e5f6a7b@redis:6379/1"
        assert app["DEPLOYMENT"] == "production"
        assert app["SECRET_KEY"] == GOOD_KEY


def test_the_app_is_reached_only_through_the_tls_proxy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "ports" not in services["web"]
    proxy = services["proxy"]
    assert proxy["image"] == "caddy:2"
    assert sorted(proxy["ports"])[:2] == ["443:443", "443:443/udp"]
    mount = next(v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro"))
    caddyfile = (ROOT / mount.split(":")[0]).read_text()
    assert "reverse_proxy web:8000" in caddyfile
    assert "{$SITE_DOMAIN}" in caddyfile
    assert services["web"]["environment"]["BEHIND_TLS_PROXY"] == "true"
