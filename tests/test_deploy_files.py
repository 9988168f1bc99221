"""What the deployment files hold: secrets without defaults, one published port, the
image's lock, the operations guide's commands and blocks.

The linters (check-jsonschema on the compose file, hadolint, yamllint, promtool,
kubernetes-validate on kubectl kustomize's output) and `manage_all.py render --check`
run in `manage_all.py test`'s checks stage (devtools/launcher/suites.py,
DEPLOYMENT_LINTERS, RENDERED_CHECKS). Kubernetes and monitoring have their own files:
test_deploy_k8s.py, test_deploy_monitoring.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from common.topology import SERVICES
from devtools.harness import REPO_ROOT


def tool(name: str) -> str:
    """The path of a command-line tool: the virtualenv's first, then PATH; else skip."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.skip(
            f"{name} is not installed (deploy/ci-tools.sh or requirements-dev.txt installs it)"
        )
    return found


def run(
    *command: str, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{result.args}:\n{result.stdout}{result.stderr}"


def test_compose_secrets_have_no_defaults_and_only_the_gateway_is_published():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    default = {n: s for n, s in services.items() if "profiles" not in s}
    assert [n for n, s in default.items() if "ports" in s] == ["gateway"]
    # Grafana, in the monitoring profile, is published on the loopback only.
    assert all(p.startswith("127.0.0.1:") for p in services["grafana"]["ports"])
    assert compose["networks"]["backend"]["internal"] is True
    assert all(s["networks"] == ["backend"] for n, s in default.items() if n != "gateway")
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    secrets = ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "GATEWAY_OPS_TOKEN"]
    for service in SERVICES.values():
        secrets += [f"{service.env_prefix}_SERVICE_TOKEN", f"{service.env_prefix}_DB_PASSWORD"]
    for secret in secrets:
        assert f"${{{secret}:?" in text
        assert f"${{{secret}:-" not in text
    # No token shared by every project, and no project connects as the superuser.
    assert "${SERVICE_TOKEN" not in text
    assert "postgres://postgres:" not in text
    for name, spec in services.items():
        assert "healthcheck" in spec, f"{name} has no healthcheck"
        # migrate serves nothing; Loki's distroless image has nothing to probe with.
        assert ("disable" in spec["healthcheck"]) == (name in ("migrate", "loki"))
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    # The services register at the gateway by the address compose's DNS gives for them.
    assert (
        'SERVICE_INSTANCE_URL="http://$${address}:$${PORT}"' in services["users"]["entrypoint"][2]
    )
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert {"monitoring"} == {p for s in services.values() for p in s.get("profiles", [])}
    assert set(compose["volumes"]) >= {"pgdata", "prometheusdata", "grafanadata", "lokidata"}


def test_compose_mounts_only_files_that_exist():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    for name, spec in compose["services"].items():
        for volume in spec.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name} mounts {source}, which is missing"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".env", "secrets", "var", ".venv", ".git"} <= set(ignored)


# -- docs/operations.md: its commands exist, its backup and restore blocks work ----------------

OPERATIONS = REPO_ROOT / "docs" / "operations.md"


def operations_block(after: str) -> str:
    """The first ```sh block after the text AFTER in docs/operations.md."""
    text = OPERATIONS.read_text().split(after, 1)[1]
    return re.search(r"```sh\n(.*?)```", text, flags=re.DOTALL).group(1)


def management_commands(package: str) -> set[str]:
    """The project's own management commands, and those of the apps it installs."""
    import importlib.util

    found = {p.stem for p in (REPO_ROOT / package).glob("*/management/commands/*.py")}
    for app in ("rest_framework_simplejwt.token_blacklist", "django.core", "django.contrib.auth"):
        spec = importlib.util.find_spec(app)
        found |= {p.stem for p in Path(spec.origin).parent.glob("management/commands/*.py")}
    return found - {"__init__"}


def test_operations_names_only_commands_and_files_that_exist():
    text = OPERATIONS.read_text()
    by_package = {s.name: s.package for s in SERVICES.values()}
    named = re.findall(
        r"`(?:python3 manage_all.py )?(users|products|orders|gateway) ([a-z_]+)`", text
    )
    named += re.findall(r"exec (?:-T )?(?:deploy/)?(\w+) (?:-- )?python -m django (\w+)", text)
    assert len(named) >= 8
    for project, command in named:
        assert command in management_commands(by_package[project]), f"{project} {command}"
    for path in set(re.findall(r"`((?:deploy|docs|tests|common|user_service)/[\w./-]+)`", text)):
        assert (REPO_ROOT / path.split(" ")[0]).exists(), path
    for flag in re.findall(r"`(\w+)` \(a day by default", text):
        assert flag in (REPO_ROOT / "README.md").read_text()


def test_operations_backup_and_restore_blocks_restore_a_database(tmp_path):
    """The documented pg_dump / pg_restore commands, run on a scratch database."""
    import secrets

    psycopg = pytest.importorskip("psycopg")
    for name in ("pg_dump", "pg_restore", "bash"):
        tool(name)
    server = "postgres://postgres@127.0.0.1:5432"
    database = f"ops_backup_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 to back up: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{database}"')
        try:
            with psycopg.connect(f"{server}/{database}", autocommit=True) as conn:
                conn.execute("CREATE TABLE product (id int PRIMARY KEY, stock int)")
                conn.execute("INSERT INTO product VALUES (1, 10), (2, 20)")
            backup = operations_block("daily, kept off the server:")
            backup = backup.replace("users products orders gateway", database)
            restore = operations_block("Restore one database").replace(
                "db=products", f"db={database}"
            )
            env = {"PATH": os.environ["PATH"], "PGURL": server, "PGCONNECT_TIMEOUT": "5"}
            assert_ok(run("bash", "-euc", backup, cwd=tmp_path, env=env))
            assert (tmp_path / f"backup-{database}.dump").stat().st_size > 0
            with psycopg.connect(f"{server}/{database}", autocommit=True) as conn:
                conn.execute("UPDATE product SET stock = 0")
                conn.execute("INSERT INTO product VALUES (3, 30)")
            assert_ok(run("bash", "-euc", restore, cwd=tmp_path, env=env))
            with psycopg.connect(f"{server}/{database}") as conn:
                rows = conn.execute("SELECT id, stock FROM product ORDER BY id").fetchall()
            assert rows == [(1, 10), (2, 20)]
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_the_image_installs_the_runtime_lock_only():
    """The build stage installs requirements.txt, hash-checked, and nothing else: the dev
    lock is neither copied in nor installed (common/tests/test_locks.py checks that the
    runtime lock holds what the projects import)."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    installs = re.findall(r"pip install [^&]*?-r (\S+)", dockerfile.replace("\\\n", " "))
    assert installs == ["requirements.txt"]
    assert "--require-hashes" in dockerfile
    assert "requirements-dev" not in "\n".join(
        line for line in dockerfile.splitlines() if not line.startswith("#")
    )
    assert "requirements-dev.txt" in (REPO_ROOT / ".dockerignore").read_text().splitlines()


def test_operations_key_rotation_commands_make_a_second_trusted_key(tmp_path):
    """The README's key-pair commands, then docs/operations.md's rotation block: the
    combined file holds two public keys with different kids, the new one first."""
    from cryptography.hazmat.primitives import serialization

    from common.identity.jwk import public_jwk

    tool("openssl")
    readme = (REPO_ROOT / "README.md").read_text().split("## Production", 1)[1]
    first = re.search(r"```sh\n(.*?)```", readme, flags=re.DOTALL).group(1)
    keys = "\n".join(line for line in first.splitlines() if line.startswith(("mkdir", "openssl")))
    env = {"PATH": os.environ["PATH"]}
    assert_ok(run("bash", "-euc", keys, cwd=tmp_path, env=env))
    assert_ok(run("bash", "-euc", operations_block("Make the new pair"), cwd=tmp_path, env=env))
    both = (tmp_path / "jwt_public.both.pem").read_text()
    marker = "-----END PUBLIC KEY-----"
    pems = [part + marker for part in both.split(marker) if part.strip()]
    kids = [public_jwk(serialization.load_pem_public_key(p.strip().encode()))["kid"] for p in pems]
    new = serialization.load_pem_public_key((tmp_path / "jwt_public.new.pem").read_bytes())
    assert len(set(kids)) == 2
    assert kids[0] == public_jwk(new)["kid"]
