"""The foundation's promises, checked on real processes started by the container entrypoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest

from common.topology import SERVICES
from devtools.harness import REPO_ROOT, http, start_stack

pytestmark = pytest.mark.e2e


def _production_env(tmp_path, **overrides):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_DATABASE_URL", "SECRET_KEY")) and not key.startswith("JWT_")
    }
    env.update(APP_ENV="production", VAR_DIR=str(tmp_path), SERVICE_TOKEN="x" * 40)
    env.update(overrides)
    return env


def _entrypoint(service: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "common.runtime.entrypoint", service],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "SERVICE_TOKEN", "JWT_PUBLIC_KEY"])
def test_production_start_without_a_secret_stops_with_one_line_naming_it(tmp_path, missing):
    env = _production_env(tmp_path, SECRET_KEY="k" * 50, JWT_PUBLIC_KEY_FILE="")
    env.pop(missing, None)
    if missing != "JWT_PUBLIC_KEY":
        # Read lazily, at the first token: any PEM-shaped value gets past settings.
        env["JWT_PUBLIC_KEY"] = "-----BEGIN PUBLIC KEY-----\\nAA\\n-----END PUBLIC KEY-----"
    result = _entrypoint("products", env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"products: configuration error: {missing} is not set")
    assert not (tmp_path / "secrets").exists()


def test_production_refuses_debug(tmp_path):
    env = _production_env(tmp_path, SECRET_KEY="k" * 50, DEBUG="true")
    result = _entrypoint("gateway", env)
    assert result.returncode == 2
    assert "DEBUG=true is refused with APP_ENV=production" in result.stderr


def test_database_down_makes_ready_503_while_liveness_stays_200(tmp_path):
    stack = start_stack(
        tmp_path,
        ["products"],
        env={"PRODUCTS_DATABASE_URL": "postgres://postgres@127.0.0.1:1/products"},
        wait=False,
        migrate=False,
    )
    try:
        products = stack["products"]
        products.wait_ready(path="/health")
        status, headers, body = http("GET", f"{products.url}/ready")
        assert status == HTTPStatus.SERVICE_UNAVAILABLE
        assert headers["Content-Type"] == "application/json"
        ready = json.loads(body)
        assert ready["status"] == "unavailable"
        assert ready["checks"]["database"]["status"] == "down"
        assert ready["checks"]["database"]["error"].startswith("OperationalError")
        status, _, _ = http("GET", f"{products.url}/health")
        assert status == HTTPStatus.OK
    finally:
        stack.stop()


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_project_answers_unknown_urls_with_json_404(stack, name):
    status, headers, body = http("GET", f"{stack[name].url}/definitely/not/here")
    assert status == HTTPStatus.NOT_FOUND
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 404


@pytest.mark.parametrize("name", list(SERVICES))
def test_admin_and_swagger_assets_are_served_in_production_mode(stack, name):
    url = stack[name].url
    status, _, page = http("GET", f"{url}/admin/login/")
    assert status == HTTPStatus.OK
    stylesheets = re.findall(rb'href="(/static/[^"]+\.css)"', page)
    assert stylesheets
    for sheet in stylesheets:
        status, headers, _ = http("GET", f"{url}{sheet.decode()}")
        assert status == HTTPStatus.OK
        assert headers["Content-Type"].startswith("text/css")
    status, _, docs = http("GET", f"{url}/api/docs")
    assert status == HTTPStatus.OK
    scripts = re.findall(rb'src="(/static/[^"]+\.js)"', docs)
    assert scripts
    for script in scripts:
        status, _, _ = http("GET", f"{url}{script.decode()}")
        assert status == HTTPStatus.OK
    status, headers, _ = http("GET", f"{url}/api/schema")
    assert status == HTTPStatus.OK
    assert headers["Content-Type"].startswith("application/vnd.oai.openapi")


def _counter(metrics: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_add_up_across_gunicorn_workers(stack):
    """Two workers each count their own requests; /metrics sums them (multiprocess mode)."""
    url = stack["products"].url

    def scrape() -> float:
        _, _, body = http("GET", f"{url}/metrics")
        return _counter(
            body.decode(), "django_http_responses_total_by_status_view_method_total", view="health"
        )

    before = scrape()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: http("GET", f"{url}/health")[0], range(60)))
    assert statuses == [HTTPStatus.OK] * 60
    scrapes = {scrape() - before for _ in range(6)}
    assert scrapes == {60.0}


def test_request_id_is_echoed_and_logged_as_json(stack):
    service = stack["orders"]
    status, headers, _ = http(
        "GET", f"{service.url}/no-such-page", headers={"X-Request-ID": "e2e-rid-1"}
    )
    assert status == HTTPStatus.NOT_FOUND
    assert headers["X-Request-ID"] == "e2e-rid-1"
    lines = [
        json.loads(line)
        for line in service.log_path.read_text().splitlines()
        if "e2e-rid-1" in line
    ]
    assert [(entry["service"], entry["logger"], entry["status"]) for entry in lines] == [
        ("orders", "access", 404)
    ]


def test_replicas_migrating_at_once_take_turns(tmp_path):
    from devtools.harness import _drop_databases, _postgres_url_for

    created = _postgres_url_for("products", os.urandom(4).hex())
    if created is None:
        pytest.skip("runs in the PostgreSQL pass (PRODUCTS_DATABASE_URL is not PostgreSQL)")
    url, admin = created
    env = _production_env(
        tmp_path,
        APP_ENV="development",  # development secrets: only the database matters here
        PRODUCTS_DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="product_service.settings",
    )
    code = "import django; django.setup(); from common.runtime.entrypoint import migrate; migrate()"
    try:
        replicas = [
            subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [replica.communicate(timeout=120)[0] for replica in replicas]
        assert [replica.returncode for replica in replicas] == [0] * 4, outputs

        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
            applied = conn.execute("SELECT app, name FROM django_migrations").fetchall()
        assert len(applied) == len(set(applied)) > 0
    finally:
        _drop_databases([f"{admin}|{url.rsplit('/', 1)[1]}"])
