"""`python3 manage_all.py up` and friends, run as a newcomer runs them (on free ports)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from pathlib import Path

import pytest

from common.testing import wait_until
from common.topology import SERVICES
from devtools.harness import REPO_ROOT, admin_login, free_port, http

pytestmark = pytest.mark.e2e


def _up_env(tmp_path, ports):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_DATABASE_URL", "_SERVICE_URL", "_PORT"))
        and key
        not in (
            "APP_ENV",
            "PROMETHEUS_MULTIPROC_DIR",
            "DJANGO_SETTINGS_MODULE",
            "GATEWAY_INTERNAL_URL",  # `up` points its services at its own gateway
            # The embedded defaults, as on a laptop: runs of `up` one after another must
            # not find each other's registrations, breakers or limits in a shared Redis.
            "REDIS_URL",
        )
    }
    env.update(VAR_DIR=str(tmp_path / "var"), DJANGO_SUPERUSER_PASSWORD="correct-horse-battery-9")
    for name, port in ports.items():
        env[f"{SERVICES[name].env_prefix}_PORT"] = str(port)
    return env


def _answers(url: str) -> bool:
    """GET `url` answers 200 (a refused connection: not yet)."""
    with contextlib.suppress(OSError):
        return http("GET", url)[0] == HTTPStatus.OK
    return False


def _wait_for(process, text, lines, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        if text in line:
            return True
    return False


def _keep_reading(process, lines) -> threading.Thread:
    """Collect what `up` prints from now on, in the background (until it exits)."""

    def pump() -> None:
        for line in process.stdout:
            lines.append(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _server_pid(port: int) -> int:
    """The server master `up` runs on PORT: the process whose environment says so and whose
    parent is not a server too (gunicorn's workers share the environment)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            if f"PORT={port}".encode() in environ:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                found[int(entry)] = int(stat[1])  # its parent
    [master] = [pid for pid, parent in found.items() if parent not in found]
    return master


def _listening(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_up(tmp_path, ports, *args: str) -> tuple[subprocess.Popen, list[str]]:
    """`manage_all.py up [ARGS]` on PORTS, waited for until it prints its URL table."""
    process = subprocess.Popen(
        [sys.executable, "manage_all.py", "up", *args],
        cwd=REPO_ROOT,
        env=_up_env(tmp_path, ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    if not _wait_for(process, "all four are ready", lines, 180):
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        raise AssertionError("".join(lines))
    return process, lines


def test_up_serves_all_four_then_ctrl_c_stops_everything(tmp_path):
    ports = {name: free_port() for name in SERVICES}
    process, lines = start_up(tmp_path, ports)
    try:
        output = "".join(lines)
        front = f"http://localhost:{ports['gateway']}"
        for page in ("/", "/docs", "/openapi.json", "/dashboard", "/admin/", "/admin/products/"):
            assert f"{front}{page}" in output
        # `up`'s own lines carry their time, as the projects' JSON lines do.
        own = [line for line in lines if line.startswith("up ")]
        assert own
        assert all(re.match(r"up +\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in own), own
        # gunicorn's start-up lines ("Listening at", "Booting worker") are not errors.
        started = [line for line in lines if '"Listening at' in line]
        assert started
        assert all('"logger": "gunicorn"' in line for line in started), started
        for name, port in ports.items():
            assert f"http://localhost:{port}/api/docs" in output
            status, _, _ = http("GET", f"http://127.0.0.1:{port}{SERVICES[name].liveness_path}")
            assert status == HTTPStatus.OK
        assert output.count("admin user 'admin' created") == 1
        # That one admin, made at the user service, signs into every admin.
        for name, port in ports.items():
            session = admin_login(f"http://127.0.0.1:{port}", "admin", "correct-horse-battery-9")
            index = session.get(f"http://127.0.0.1:{port}/admin/", timeout=10)
            assert "Site administration" in index.text, name
        # Every line a service prints is prefixed with its name.
        assert any(line.startswith("products | ") for line in lines)
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "stopped" in rest
    assert [name for name, port in ports.items() if _listening(port)] == []


def test_up_starts_a_project_again_when_it_dies_and_counts_it(tmp_path):
    ports = {name: free_port() for name in SERVICES}
    process, lines = start_up(tmp_path, ports)
    pump = _keep_reading(process, lines)
    try:
        os.kill(_server_pid(ports["products"]), signal.SIGKILL)
        wait_until(
            lambda: any("products stopped (exit" in line for line in lines),
            timeout=60,
            every=0.2,
            what=lambda: "".join(lines[-20:]),
        )
        assert any("; restart 1 in 1s" in line for line in lines), "".join(lines[-20:])
        live = f"http://127.0.0.1:{ports['products']}{SERVICES['products'].liveness_path}"
        wait_until(lambda: _answers(live), timeout=60, every=0.5, what="products serving again")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        pump.join(timeout=10)
    assert process.returncode == 0, "".join(lines[-20:])
    assert [name for name, port in ports.items() if _listening(port)] == []


def test_up_with_a_taken_port_fails_fast_with_one_line(tmp_path):
    ports = {name: free_port() for name in SERVICES}
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", ports["products"]))
        blocker.listen()
        result = subprocess.run(
            [sys.executable, "manage_all.py", "up"],
            cwd=REPO_ROOT,
            env=_up_env(tmp_path, ports),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: port {ports['products']} (products) already in use: "
        "stop what listens there (another `up`?) and retry"
    ]


def test_up_reports_a_service_that_dies_at_start(tmp_path):
    ports = {name: free_port() for name in SERVICES}
    env = _up_env(tmp_path, ports)
    env["GUNICORN_THREADS"] = "not-a-number"  # gunicorn's config cannot load: every one dies
    result = subprocess.run(
        [sys.executable, "manage_all.py", "up"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 1
    [error] = result.stderr.strip().splitlines()
    assert error.startswith("error: ")
    assert "exited during start" in error
    assert [name for name, port in ports.items() if _listening(port)] == []


def _manage(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage_all.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_django_commands_pass_through(tmp_path):
    result = _manage(_up_env(tmp_path, {}), "products", "showmigrations", "contenttypes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "contenttypes"


def test_createsuperuser_takes_its_email_at_every_project(tmp_path):
    """`users createsuperuser --email x` was refused (the account's email is optional, so
    Django's command had no --email): it is taken there as at the other projects."""
    env = _up_env(tmp_path, {})
    for name in ("users", "products"):
        assert _manage(env, name, "migrate", "--noinput").returncode == 0
        result = _manage(
            env,
            name,
            "createsuperuser",
            "--noinput",
            "--username",
            "root2",
            "--email",
            "r@example.com",
        )
        assert result.returncode == 0, result.stderr
        assert "Superuser created successfully." in result.stdout
        shell = (
            "from django.contrib.auth import get_user_model as g; "
            "print(g().objects.get(username='root2').email)"
        )
        assert _manage(env, name, "shell", "-c", shell).stdout.splitlines()[-1] == "r@example.com"
    # Still optional at the user service.
    result = _manage(env, "users", "createsuperuser", "--noinput", "--username", "root3")
    assert result.returncode == 0, result.stderr


def test_django_usage_texts_name_manage_all(tmp_path):
    env = _up_env(tmp_path, {})
    result = _manage(env, "users", "createsuperuser", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: manage_all.py users createsuperuser")
    assert "--email" in result.stdout
    unknown = _manage(env, "orders", "no-such-command")
    assert unknown.returncode != 0
    assert "__main__.py" not in unknown.stderr + unknown.stdout
    assert "manage_all.py orders help" in unknown.stderr


def test_up_scale_runs_two_product_instances_that_register_and_share_the_load(tmp_path):
    ports = {name: free_port() for name in SERVICES}
    process, lines = start_up(tmp_path, ports, "--scale", "products=2")
    try:
        output = "".join(lines)
        rows = [line for line in lines if "products" in line and "/api/docs" in line]
        assert len(rows) == 2, output  # the URL table shows every instance
        assert any("products#2" in row for row in rows)
        extra_port = int(next(r for r in rows if "products#2" in r).split("localhost:")[1][:5])
        token_status, _, body = http(
            "POST",
            f"http://127.0.0.1:{ports['users']}/users/login",
            body=b'{"username": "admin", "password": "correct-horse-battery-9"}',
            headers={"Content-Type": "application/json"},
        )
        assert token_status == HTTPStatus.OK
        token = json.loads(body)["access"]
        _keep_reading(process, lines)
        gateway = f"http://127.0.0.1:{ports['gateway']}"

        def registered() -> set[str]:
            status, _, raw = http(
                "GET", f"{gateway}/gateway/services", headers={"Authorization": f"Bearer {token}"}
            )
            assert status == HTTPStatus.OK
            products = next(s for s in json.loads(raw)["services"] if s["name"] == "products")
            urls = {i["url"] for i in products["instances"] if "registry" in i["source"]}
            return urls if len(urls) == 2 else set()

        urls = wait_until(registered, timeout=30, every=0.5, what="both products registered")
        assert urls == {
            f"http://127.0.0.1:{ports['products']}",
            f"http://127.0.0.1:{extra_port}",
        }
        for n in range(8):  # each query its own: no answer comes from the response cache
            assert http("GET", f"{gateway}/products?page_size=1&n={n}")[0] == HTTPStatus.OK

        def served_per_instance() -> dict[str, int]:
            requests = [line for line in list(lines) if "GET /products" in line]
            return {
                prefix: sum(1 for line in requests if line.startswith(prefix))
                for prefix in ("products | ", "products#2 | ")
            }

        # The last access-log lines reach `up`.
        # A bound on a hang: on a loaded machine the lines reach `up` seconds late.
        wait_until(lambda: sum(served_per_instance().values()) >= 8, timeout=60)
        per_instance = served_per_instance()
        assert all(count >= 2 for count in per_instance.values()), per_instance

        # The order service reserves stock at both instances too (`up` names every one
        # in its PRODUCTS_SERVICE_URL), not at the first only.
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        listed = json.loads(http("GET", f"{gateway}/products?page_size=100")[2])["results"]
        cable = next(p for p in listed if p["sku"] == "CB-USB-C")
        order = json.dumps({"items": [{"product_id": cable["id"], "quantity": 1}]}).encode()
        for _ in range(4):
            assert http("POST", f"{gateway}/orders", body=order, headers=auth)[0] == 201

        def reservations_per_instance() -> dict[str, int]:
            made = [line for line in list(lines) if "POST /internal/reservations" in line]
            return {
                prefix: sum(1 for line in made if line.startswith(prefix))
                for prefix in ("products | ", "products#2 | ")
            }

        wait_until(lambda: sum(reservations_per_instance().values()) >= 4, timeout=60)
        assert all(count >= 1 for count in reservations_per_instance().values())
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest


def test_bench_without_wrk_says_how_to_install_it(tmp_path):
    env = {**_up_env(tmp_path, {}), "PATH": str(tmp_path)}  # no wrk on this PATH
    result = subprocess.run(
        [sys.executable, "manage_all.py", "bench", "--duration", "1"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: wrk is not installed: apt-get install -y wrk (macOS: brew install wrk)"
    ]
