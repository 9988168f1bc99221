"""Start real projects as real processes (the container entrypoint) on free ports.

Each stack gets its own VAR_DIR, secrets and keys (APP_ENV=production, so production's
configuration path is the one tested), and its own databases: SQLite files, or fresh
PostgreSQL databases when <SERVICE>_DATABASE_URL in the environment points at PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from requests.structures import CaseInsensitiveDict

from common.topology import SERVICES

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rsa_pair(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = directory / "jwt_private.pem", directory / "jwt_public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def http(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP call with the standard library: (status, headers, body), errors included.

    Header names are case-insensitive (granian sends them in lower case, gunicorn as the
    app wrote them)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, CaseInsensitiveDict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, CaseInsensitiveDict(error.headers.items()), error.read()


def json_call(
    method: str,
    url: str,
    body: object = None,
    *,
    token: str = "",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], object]:
    """One JSON API call: (status, headers, parsed body or None)."""
    import json

    sent = {"Content-Type": "application/json"}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    data = json.dumps(body).encode() if body is not None else None
    status, response_headers, raw = http(method, url, body=data, headers=sent, timeout=timeout)
    return status, response_headers, json.loads(raw) if raw else None


def admin_login(url: str, username: str, password: str):
    """A requests session signed into URL's Django admin through its login form."""
    import re

    import requests

    session = requests.Session()
    form = session.get(f"{url}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    session.post(
        f"{url}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": password},
        timeout=10,
        allow_redirects=False,
    )
    return session


def wait_until_ok(
    url: str, process: subprocess.Popen | None, timeout: float = START_TIMEOUT
) -> str | None:
    """Poll URL until it answers 200: None then, else what went wrong instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return "exited at start"
        with contextlib.suppress(OSError):
            status, _, _ = http("GET", url, timeout=2)
            if status == 200:
                return None
        time.sleep(0.2)
    return f"not ready after {timeout}s"


def record_page_errors(page: Any, *, failed_answers: bool = False) -> list[str]:
    """What goes wrong in a Playwright page, as text, kept in `page.errors` (the browser
    tests assert it empty): uncaught errors and console errors, and with `failed_answers`
    every answer of 400 or more the page loads."""
    errors: list[str] = []
    page.errors = errors
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None,
    )
    if failed_answers:
        page.on(
            "response",
            lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
    return errors


@contextlib.contextmanager
def chromium_page(executable: str, *, timeout_ms: int = 20_000) -> Iterable[Any]:
    """A page in a headless Chromium (Playwright), 1280x900, its errors recorded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(timeout_ms)
        record_page_errors(page)
        try:
            yield page
        finally:
            browser.close()


def swagger_execute(page: Any, operation: str) -> tuple[str, str]:
    """In Swagger UI, expand the operation (its element id: `operations-<tag>-<operationId>`),
    Try it out, Execute with its defaults: (the status shown, the body shown)."""
    block = page.locator(f"#{operation}")
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    body = block.locator(".live-responses-table .response-col_description pre").first
    return status.inner_text().strip(), body.inner_text() if body.count() else ""


def swagger_authorize(page: Any, token: str | None, scheme: str = "jwtAuth") -> str:
    """Paste TOKEN into the SCHEME form of Swagger UI's Authorize dialog (logging out what
    it held before; with None, only that); the dialog's text, as it read."""
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    form = dialog.locator("form").filter(has_text=f"{scheme} (")
    logout = form.locator("button", has_text="Logout")
    if logout.count():
        logout.click()
    text = dialog.inner_text()
    if token is not None:
        form.locator("input").first.fill(token)
        form.locator("button.authorize").click()
    dialog.locator("button.btn-done").first.click()
    return text


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    tree: Path = REPO_ROOT  # the source tree it runs from (a benchmark may pass another's)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True, migrate: bool = True) -> ServiceProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 -- owned by the child
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "common.runtime.entrypoint",
                self.name,
                *(["--migrate"] * migrate),
            ],
            cwd=self.tree,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT, path: str = "/ready") -> None:
        """Wait until PATH answers 200 (pass the liveness path for a service left unready)."""
        problem = wait_until_ok(f"{self.url}{path}", self.process, timeout)
        if problem:
            raise RuntimeError(f"{self.name} {problem}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def mint_access_token(
    stack: Stack,
    *,
    user_id: int,
    is_staff: bool = False,
    lifetime: int = 900,
    **claims: object,
) -> str:
    """An access token as the stack's user service would sign it (kid, iss, aud and all)."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    from common.identity.jwk import public_jwk

    pem = Path(stack.base_env["JWT_PRIVATE_KEY_FILE"]).read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    now = int(time.time())
    payload = {
        "token_type": "access",
        "user_id": user_id,
        "username": f"user{user_id}",
        "is_staff": is_staff,
        "is_superuser": False,
        "iss": stack.base_env.get("JWT_ISSUER", "users"),
        "aud": stack.base_env.get("JWT_AUDIENCE", "api"),
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_hex(16),
        **claims,
    }
    kid = public_jwk(private.public_key())["kid"]
    return jwt.encode(payload, private, algorithm="RS256", headers={"kid": kid})


@dataclass
class Stack:
    """A set of projects wired to each other, sharing secrets and keys."""

    root: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    created_databases: list[str] = field(default_factory=list)
    base_env: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        _drop_databases(self.created_databases)


def _postgres_url_for(name: str, unique: str) -> tuple[str, str] | None:
    """A fresh database on the PostgreSQL server named in <SERVICE>_DATABASE_URL, if any."""
    url = os.environ.get(SERVICES[name].database_url_var, "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    database = f"e2e_{name}_{unique}"
    import psycopg

    admin = urlunsplit(
        (parts.scheme.replace("postgresql", "postgres"), parts.netloc, "/postgres", "", "")
    )
    with psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, "")), admin


def _drop_databases(entries: list[str]) -> None:
    import psycopg

    for entry in entries:
        admin, database = entry.rsplit("|", 1)
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def start_stack(
    root: Path,
    names: Iterable[str] = ("users", "products", "orders", "gateway"),
    *,
    env: dict[str, str] | None = None,
    wait: bool = True,
    migrate: bool = True,
) -> Stack:
    """Start the named projects (upstreams before the gateway) and wait for their /ready."""
    names = list(names)
    root.mkdir(parents=True, exist_ok=True)
    private, public = _rsa_pair(root)
    unique = secrets.token_hex(4)
    stack = Stack(root=root)
    ports = {name: free_port() for name in names}
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_DATABASE_URL", "_SERVICE_URL")) and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    base.update(
        APP_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(40),
        SERVICE_TOKEN=secrets.token_urlsafe(32),
        JWT_PRIVATE_KEY_FILE=str(private),
        JWT_PUBLIC_KEY_FILE=str(public),
        WEB_CONCURRENCY=os.environ.get("E2E_WEB_CONCURRENCY", "2"),
        CACHE_KEY_PREFIX=f"e2e{unique}",
        # What the user service and the gateway share (token revocations): per stack.
        SHARED_CACHE_PREFIX=f"e2e{unique}:shared",
        PYTHONUNBUFFERED="1",
    )
    for name, port in ports.items():
        base[SERVICES[name].url_var] = f"http://127.0.0.1:{port}"
    # Services purge the gateway's response cache there (none without a gateway).
    base["GATEWAY_INTERNAL_URL"] = (
        f"http://127.0.0.1:{ports['gateway']}" if "gateway" in ports else ""
    )
    base.update(env or {})
    stack.base_env = base
    try:
        for name in names:
            service_env = {**base, "PORT": str(ports[name]), "VAR_DIR": str(root / name)}
            service_env["CACHE_KEY_PREFIX"] = f"{base['CACHE_KEY_PREFIX']}:{name}"
            if SERVICES[name].database_url_var not in (env or {}):
                created = _postgres_url_for(name, unique)
                if created:
                    url, admin = created
                    service_env[SERVICES[name].database_url_var] = url
                    stack.created_databases.append(f"{admin}|{urlsplit(url).path.lstrip('/')}")
            service = ServiceProcess(name, ports[name], service_env, root / f"{name}.log")
            stack.services[name] = service
            service.start(wait=False, migrate=migrate)
        if wait:
            for service in stack.services.values():
                service.wait_ready()
    except BaseException:
        stack.stop()
        raise
    return stack


def another_instance(stack: Stack, name: str, label: str, **env: str) -> ServiceProcess:
    """One more instance of a running service: same database, secrets and settings."""
    port = free_port()
    process = ServiceProcess(
        name, port, {**stack[name].env, "PORT": str(port), **env}, stack.root / f"{label}.log"
    )
    stack.services[label] = process
    return process.start(migrate=False)


def start_gateway(
    stack: Stack, label: str = "gateway", port: int | None = None, **env: str
) -> ServiceProcess:
    """A gateway in front of the stack; gateways started this way share one cache prefix
    (so, with Redis, one registry and one set of breakers)."""
    port = port or free_port()
    gateway_env = {
        **stack.base_env,
        "PORT": str(port),
        "VAR_DIR": str(stack.root / label),
        "CACHE_KEY_PREFIX": f"{stack.base_env['CACHE_KEY_PREFIX']}:gateway",
        **env,
    }
    process = ServiceProcess("gateway", port, gateway_env, stack.root / f"{label}.log")
    stack.services[label] = process
    return process.start()


class RedisProcess:
    """A private redis-server: the machine's shared one is never stopped by a test.

    A fault test may freeze it (SIGSTOP), thaw it, kill it (SIGKILL) and start it again on
    the same port, empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--bind",
                "127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            result = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if result.stdout.strip() == "PONG":
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one must die too
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=5)


def manage(
    stack: Stack, service: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """A management command of one of the stack's services, run as an operator would, on
    that service's databases and settings (ENV added)."""
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env={
            **stack[service].env,
            "DJANGO_SETTINGS_MODULE": SERVICES[service].settings_module,
            **(env or {}),
        },
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def superuser_create(
    stack: Stack, username: str, password: str, *, service: str = "users", email: str = ""
) -> str:
    """`createsuperuser --noinput` at one of the stack's services (the user service's
    staff sign in to every admin), as an operator runs it; returns the username."""
    env = {"DJANGO_SUPERUSER_PASSWORD": password}
    if email:
        env["DJANGO_SUPERUSER_EMAIL"] = email
    done = manage(stack, service, "createsuperuser", "--noinput", "--username", username, env=env)
    if done.returncode:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return username


def run_reconcile(stack: Stack) -> subprocess.CompletedProcess:
    """The order service's `reconcile` command, run as an operator would, on the stack's
    databases."""
    return manage(stack, "orders", "reconcile")


def dump_rows(stack: Stack, service: str, *models: str) -> dict[str, list[dict]]:
    """Every row of MODELS (`app_label.model`) in the service's database, as `dumpdata
    --all` gives them: {model: [{"pk": ..., **fields}]} (the database itself, no API or
    cache in between)."""
    import json

    done = manage(stack, service, "dumpdata", "--all", *models)
    if done.returncode:
        raise RuntimeError(f"dumpdata at {service} failed:\n{done.stderr}")
    rows: dict[str, list[dict]] = {model.lower(): [] for model in models}
    for row in json.loads(done.stdout):
        rows[row["model"]].append({"pk": row["pk"], **row["fields"]})
    return rows


def new_product(stack: Stack, *, stock: int, price: str = "2.00") -> dict:
    """A product created at the stack's product service by a staff token."""
    import uuid

    status, _, product = json_call(
        "POST",
        f"{stack['products'].url}/products",
        {"sku": f"E2E-{uuid.uuid4().hex[:10]}", "name": "e2e", "price": price, "stock": stock},
        token=mint_access_token(stack, user_id=1, is_staff=True),
    )
    assert status == 201, product
    return product
