"""The README, .env.example and compose file stay true to the code.

What follows from the registry alone (each project's variables, URLs, ports, databases,
what the image copies) is rendered into the files (`manage_all.py render`; the checks
stage fails on a stale file)."""

from __future__ import annotations

import re

import yaml

from common.topology import SERVICES
from devtools.harness import REPO_ROOT
from tests.deploy_checks import compose_token_pairs, token_pairs

# Read by the machinery itself, not meant to be configured by people.
INTERNAL = {
    "SERVICE_NAME",
    "DJANGO_SETTINGS_MODULE",
    "PROMETHEUS_MULTIPROC_DIR",
    "ENV_FILE",
    "NO_COLOR",
    "E2E_WEB_CONCURRENCY",
    "FLOOR_UPSTREAM",  # scripts/bench.py tells its forwarding floor where to forward
    "PEER_UPSTREAM",  # and its django-revproxy peer (scripts/peers/django_revproxy.py)
}
READ = re.compile(
    r"""(?:env\.(?:str|int|bool|float|list)|os\.environ\.(?:get|setdefault)|environ\.get)"""
    r"""\(\s*f?["']([A-Z][A-Z0-9_]+)["']"""
)


def _code_files():
    for path in REPO_ROOT.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).parts
        if parts[0] in (".venv", "var", "tests") or "tests" in parts or "migrations" in parts:
            continue
        yield path


def variables_read_by_code() -> set[str]:
    found = set()
    for path in _code_files():
        found |= set(READ.findall(path.read_text()))
    return found - INTERNAL


def readme_variables() -> set[str]:
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


def test_every_variable_the_code_reads_is_in_the_readme():
    assert variables_read_by_code() - readme_variables() == set()


def test_every_readme_variable_is_read_somewhere():
    documented = readme_variables()
    code = "\n".join(p.read_text() for p in _code_files())
    code += (REPO_ROOT / "manage_all.py").read_text()
    dynamic = {f"{s.env_prefix}_SECRET_KEY" for s in SERVICES.values()}
    dynamic |= {f"{s.env_prefix}_PORT" for s in SERVICES.values()}
    dynamic |= {s.database_url_var for s in SERVICES.values()} | {
        s.url_var for s in SERVICES.values()
    }
    unread = {v for v in documented - dynamic if f'"{v}' not in code and f"'{v}" not in code}
    # JWT_*_FILE are read as f"{variable}_FILE"
    unread -= {"JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"}
    assert unread == set()


def test_env_example_lists_the_configurable_variables():
    example = (REPO_ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    wanted = readme_variables() - {
        "SECRET_KEY",  # per project in .env.example: <PROJECT>_SECRET_KEY
        "JWT_PRIVATE_KEY",  # a PEM: the _FILE form is listed
        "JWT_PUBLIC_KEY",
        "PORT",
        "BIND",
        "HOST",
        "VAR_DIR",
        "GATEWAY_PORT",
        "USERS_PORT",
        "PRODUCTS_PORT",
        "ORDERS_PORT",
        "GUNICORN_LOG_LEVEL",
    }
    assert wanted - listed == set()


def test_compose_runs_every_registry_project_with_the_image_entrypoint():
    """Each project through x-project and x-env (its own lines are rendered): the image's
    entrypoint in production, after migrate, and with exactly its callers' tokens."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in SERVICES:
        spec = services[name]
        assert "exec python -m common.runtime.entrypoint" in " ".join(spec["entrypoint"])
        assert spec["build"] == "."
        env = spec["environment"]
        assert env["APP_ENV"] == "production"
        assert env["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")
        assert env["REDIS_URL"].endswith("@redis:6379/0")
        # The callers common/identity/service_callers.py lets reach what it serves.
        assert token_pairs(env["SERVICE_TOKENS"]) == compose_token_pairs(name), name
        assert ("ports" in spec) == (name == "gateway")
        assert spec["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert spec["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "jwt_private" in services["users"]["secrets"]
    assert all(
        "jwt_private" not in services[n].get("secrets", [])
        for n in ("gateway", "products", "orders")
    )
