"""The manifests' and the compose file's commands, run here as a container would run them.

No container engine or cluster here, so each command runs as a process in the repository
with the environment its manifest gives it: the ConfigMap, the container's env (secret
references filled with values made for the test, mounted files as temporary files, the
databases fresh SQLite files or PostgreSQL databases like the end-to-end stacks').
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from common.topology import SERVICES
from devtools.harness import (
    REPO_ROOT,
    _drop_databases,
    _postgres_url_for,
    _rsa_pair,
    free_port,
    http,
    json_call,
    wait_until_ok,
)
from tests.deploy_checks import kustomize as render
from tests.deploy_checks import pod_spec
from tests.test_deploy_k8s import BASE, by_kind

pytestmark = pytest.mark.e2e


class Cluster:
    """What the pods would find: secret values, mounted files, databases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []
        private, public = _rsa_pair(root)
        self.files = {
            "/run/secrets/jwt-signing/jwt_private.pem": str(private),
            "/run/secrets/jwt-public/jwt_public.pem": str(public),
        }
        unique = secrets.token_hex(4)
        self.secret = {
            "GATEWAY_OPS_TOKEN": secrets.token_urlsafe(32),
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
        }
        for name, service in SERVICES.items():
            self.secret[f"{service.env_prefix}_SECRET_KEY"] = secrets.token_urlsafe(40)
            # Each caller its own token, and a second one accepted during a rotation.
            for key in ("SERVICE_TOKEN", "SERVICE_TOKEN_ACCEPTED"):
                self.secret[f"{service.env_prefix}_{key}"] = secrets.token_urlsafe(32)
            created = _postgres_url_for(name, unique)
            if created:
                url, admin = created
                self.created.append(f"{admin}|{url.rsplit('/', 1)[1]}")
            else:
                url = f"sqlite:///{root / f'{name}.sqlite3'}"
            self.secret[service.database_url_var] = url

    def env(self, container: dict, config: dict[str, str]) -> dict[str, str]:
        """The container's environment, $(VAR) references expanded as the kubelet does."""
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "VAR_DIR": str(self.root / "var"),
            "CACHE_KEY_PREFIX": f"deploy{secrets.token_hex(3)}",
            **config,
        }
        for entry in container.get("env", []):
            if "value" in entry:
                value = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), entry["value"])
                env[entry["name"]] = self.files.get(value, value)
            elif "secretKeyRef" in entry.get("valueFrom", {}):
                env[entry["name"]] = self.secret[entry["valueFrom"]["secretKeyRef"]["key"]]
            else:
                env[entry["name"]] = "127.0.0.1"  # POD_IP, POD_NAMESPACE
        env.pop("HOST", None)  # listen on the loopback here, not 0.0.0.0
        env["GATEWAY_INTERNAL_URL"] = ""  # no gateway here to register at
        return env


@pytest.fixture
def cluster(tmp_path):
    cluster = Cluster(tmp_path)
    yield cluster
    _drop_databases(cluster.created)


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    argv = [sys.executable if part == "python" else part for part in command]
    return subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process: subprocess.Popen, timeout: float = 120) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


@contextlib.contextmanager
def serving(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A project's server as its own process group, stopped (SIGTERM) afterwards."""
    process = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_wait_for_migrations_then_the_migrate_job_then_the_cronjobs(cluster):
    base = render(BASE)
    config = by_kind(base, "ConfigMap")["django-api-gateway"]["data"]
    products = pod_spec(by_kind(base, "Deployment")["products"])
    (waiting,) = products["initContainers"]
    init = start(waiting["command"], cluster.env(waiting, config))
    try:
        time.sleep(4)
        assert init.poll() is None, "it waits while the database is not migrated"
        (job,) = pod_spec(by_kind(base, "Job")["migrate"])["containers"]
        finish(start(job["command"], cluster.env(job, config)), timeout=300)
        finish(init, timeout=90)  # it sees the migrated schema at its next 3 s poll
    finally:
        if init.poll() is None:
            init.kill()
            init.wait(timeout=10)

    outputs = {}
    for name, cronjob in by_kind(base, "CronJob").items():
        (container,) = pod_spec(cronjob)["containers"]
        outputs[name] = finish(start(container["command"], cluster.env(container, config)))
    assert "failed 0 stuck pending order(s)" in outputs["orders-reconcile"]
    assert outputs["users-flush-expired-tokens"].strip() == ""


def test_a_deployment_serves_its_probes_with_the_manifest_environment(cluster):
    """The products Deployment's own environment: ready on its probe paths, by pod address."""
    base = render(BASE)
    config = by_kind(base, "ConfigMap")["django-api-gateway"]["data"]
    (container,) = pod_spec(by_kind(base, "Deployment")["products"])["containers"]
    env = cluster.env(container, config)
    env["PORT"] = str(free_port())
    env["MIGRATE_ON_START"] = "true"  # its database only: the Job's work, in short
    argv = [sys.executable, "-m", "common.runtime.entrypoint", *container["args"]]
    with serving(argv, env) as process:
        url = f"http://127.0.0.1:{env['PORT']}"
        assert wait_until_ok(f"{url}/ready", process) is None
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            path = container[probe]["httpGet"]["path"]
            assert http("GET", f"{url}{path}")[0] == 200, probe
        assert http("GET", f"{url}/metrics")[0] == 200
        # Its SERVICE_TOKENS, built from the Secret's per-caller keys: the order service's
        # token (current, or the one accepted next to it) reserves; the gateway's is no caller
        # this service knows (its SERVICE_TOKENS name only its callers): 401.
        reserve = f"{url}/internal/reservations"
        for key in ("ORDERS_SERVICE_TOKEN", "ORDERS_SERVICE_TOKEN_ACCEPTED"):
            sent = {"X-Service-Token": cluster.secret[key]}
            assert json_call("POST", reserve, {}, headers=sent)[0] == 400, key
        other = {"X-Service-Token": cluster.secret["GATEWAY_SERVICE_TOKEN"]}
        assert json_call("POST", reserve, {}, headers=other)[0] == 401
        # The image's HEALTHCHECK, and compose's, as Docker would run them in the container.
        assert run_healthcheck(dockerfile_healthcheck(), {**env}) == 0
        compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
        probe = [
            p.replace(":8002/", f":{env['PORT']}/")
            for p in compose["services"]["products"]["healthcheck"]["test"][1:]
        ]
        assert run_healthcheck(probe, env) == 0
    assert run_healthcheck(dockerfile_healthcheck(), env) != 0, "fails once the server is gone"


def dockerfile_healthcheck() -> list[str]:
    """The exec form of the Dockerfile's HEALTHCHECK CMD."""
    import json

    text = (REPO_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return json.loads(re.search(r"HEALTHCHECK .*?CMD (\[.*\])", text).group(1))


def run_healthcheck(command: list[str], env: dict[str, str]) -> int:
    argv = [sys.executable if part == "python" else part for part in command]
    return subprocess.run(argv, env=env, capture_output=True, timeout=10, check=False).returncode


def test_compose_wrapper_allows_the_containers_own_address(cluster, tmp_path):
    """The compose projects' entrypoint adds `hostname -i` to ALLOWED_HOSTS: Prometheus and
    the gateway reach a replica by its address."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    spec = compose["services"]["products"]
    address = subprocess.run(
        ["hostname", "-i"], capture_output=True, text=True, check=False
    ).stdout.split()
    if not address:
        pytest.skip("hostname -i gives no address here")
    script = [part.replace("$$", "$") for part in spec["entrypoint"]]
    script[2] = script[2].replace("exec python", f"exec {sys.executable}")
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "APP_ENV": "production",
        "VAR_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "ALLOWED_HOSTS": "products,localhost,127.0.0.1",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "JWT_PUBLIC_KEY_FILE": cluster.files["/run/secrets/jwt-public/jwt_public.pem"],
        "PRODUCTS_DATABASE_URL": cluster.secret["PRODUCTS_DATABASE_URL"],
        "MIGRATE_ON_START": "true",
    }
    # Its tokens as compose interpolates them from .env (no ORDERS_SERVICE_TOKEN_ACCEPTED
    # there: outside a rotation it is the token itself).
    dotenv = {k: cluster.secret[k] for k in ("PRODUCTS_SERVICE_TOKEN", "ORDERS_SERVICE_TOKEN")}
    for var in ("SERVICE_TOKEN", "SERVICE_TOKENS"):
        env[var] = interpolated(spec["environment"][var], dotenv)
    with serving([*script, *spec["command"]], env) as process:
        url = f"http://127.0.0.1:{port}"
        assert wait_until_ok(f"{url}/health", process) is None
        by_address = http("GET", f"{url}/ready", headers={"Host": f"{address[0]}:{port}"})
        assert by_address[0] == 200
        assert http("GET", f"{url}/ready", headers={"Host": "elsewhere.example"})[0] == 400
        reserve = f"{url}/internal/reservations"
        orders = {"X-Service-Token": cluster.secret["ORDERS_SERVICE_TOKEN"]}
        assert json_call("POST", reserve, {}, headers=orders)[0] == 400  # accepted, then invalid
        # Tokens this service does not know (compose names only the current ones): 401.
        for stranger in ("GATEWAY_SERVICE_TOKEN", "ORDERS_SERVICE_TOKEN_ACCEPTED"):
            sent = {"X-Service-Token": cluster.secret[stranger]}
            assert json_call("POST", reserve, {}, headers=sent)[0] == 401, stranger


def interpolated(text: str, values: dict[str, str]) -> str:
    """TEXT with compose's `${VAR}`, `${VAR:?message}` and `${VAR:-default}` (nested)
    replaced from VALUES, innermost first, as docker compose does."""
    innermost = re.compile(r"\$\{(\w+)(?:(:\?|:-)([^${}]*))?\}")

    def one(match: re.Match) -> str:
        name, operator, operand = match.groups()
        if values.get(name):
            return values[name]
        assert operator != ":?", f"compose refuses: {operand}"
        return operand or ""

    while innermost.search(text):
        text = innermost.sub(one, text)
    return text


def test_the_gateway_deployment_serves_its_operator_endpoints_to_kubelet_and_the_token(cluster):
    """The gateway's own manifest environment: /ready answers the probe's address (the
    loopback here, a GATEWAY_OPS_NETWORKS entry) and Prometheus' GATEWAY_OPS_TOKEN; what a
    proxy forwards from elsewhere gets 404."""
    base = render(BASE)
    config = by_kind(base, "ConfigMap")["django-api-gateway"]["data"]
    (container,) = pod_spec(by_kind(base, "Deployment")["gateway"])["containers"]
    env = cluster.env(container, config)
    env["PORT"] = str(free_port())
    env["MIGRATE_ON_START"] = "true"
    argv = [sys.executable, "-m", "common.runtime.entrypoint", *container["args"]]
    with serving(argv, env) as process:
        url = f"http://127.0.0.1:{env['PORT']}"
        probe = container["readinessProbe"]["httpGet"]["path"]
        assert wait_until_ok(f"{url}{probe}", process) is None
        token = {"Authorization": f"Bearer {cluster.secret['GATEWAY_OPS_TOKEN']}"}
        stranger = {"X-Forwarded-For": "203.0.113.9"}
        assert http("GET", f"{url}/metrics", headers={**stranger, **token})[0] == 200
        assert http("GET", f"{url}/metrics", headers=stranger)[0] == 404
        assert http("GET", f"{url}/ready", headers=stranger)[0] == 404
        assert http("GET", f"{url}/health/live", headers=stranger)[0] == 200
