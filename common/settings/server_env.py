"""The server's variables: how a project's process listens, runs and registers.

Read here only, before any Django settings exist, by common.runtime.entrypoint, gunicorn_conf.py,
common.runtime.wsgi, common.runtime.slow_clients, common.runtime.registration and
manage_all.py (which is why this
module is standard library only). README's table documents each variable and default.
Django's own settings come from the environment through common.settings.env.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# New name → the old one it replaces, still read (with a warning) until removed.
ALIASES = {"WEB_THREADS": "GUNICORN_THREADS"}


class ServerConfigError(ValueError):
    """A server variable has a value the server cannot use; the message names it."""


def say(level: str, message: str, *, logger: str = "server") -> None:
    """One JSON line on stderr with the fields of the app's log lines (no logging is set up
    yet; the log shipper, deploy/monitoring, reads ts, level, service and request_id)."""
    line = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": level.upper(),
        "service": service_name(),
        "request_id": "-",
        "logger": logger,
        "message": message,
    }
    print(json.dumps(line), file=sys.stderr, flush=True)


def resolve_aliases() -> None:
    """Give each new name the value of its old alias, warning once at start.

    The entrypoint calls this before the server runs, and the server inherits the new name,
    so the warning is not repeated by gunicorn_conf.py (which also calls it when gunicorn is
    started without the entrypoint)."""
    for new, old in ALIASES.items():
        if old not in os.environ:
            continue
        if new in os.environ:
            say("WARNING", f"{old} is ignored: {new} is set (use {new} only)")
        else:
            say("WARNING", f"{old} is deprecated: set {new} instead")
            os.environ[new] = os.environ[old]
        del os.environ[old]


def _int(variable: str, default: int) -> int:
    value = os.environ.get(variable, "")
    try:
        return int(value) if value.strip() else default
    except ValueError:
        raise ServerConfigError(f"{variable} must be a whole number, not {value!r}") from None


def _seconds(variable: str, default: float) -> float:
    value = os.environ.get(variable, "")
    try:
        seconds = float(value) if value.strip() else default
    except ValueError:
        raise ServerConfigError(f"{variable} must be a number of seconds, not {value!r}") from None
    if seconds <= 0:
        raise ServerConfigError(f"{variable} must be above 0, not {value!r}")
    return seconds


def service_name() -> str:
    """SERVICE_NAME: which project this process is (the entrypoint sets it)."""
    return os.environ.get("SERVICE_NAME", "")


def var_dir() -> Path:
    """VAR_DIR: generated secrets, SQLite files, logs, metrics (default var/ in the repo)."""
    return Path(os.environ.get("VAR_DIR") or REPO_ROOT / "var").resolve()


def host() -> str:
    """HOST: the address to listen on (127.0.0.1)."""
    return os.environ.get("HOST", "127.0.0.1")


def listen_address() -> tuple[str, str]:
    """(host, port): from BIND ("host:port", "[::]:port") or HOST and PORT."""
    if bind := os.environ.get("BIND"):
        address, _, port = bind.rpartition(":")
        return address.strip("[]") or address, port
    return host(), os.environ.get("PORT", "8000")


def bind() -> str:
    """gunicorn's bind: BIND as given, else HOST:PORT."""
    return os.environ.get("BIND") or "{}:{}".format(*listen_address())


def worker_processes() -> int:
    return _int("WEB_CONCURRENCY", 2)


def worker_threads() -> int:
    """WEB_THREADS: threads per process running the app, under either server."""
    return _int("WEB_THREADS", 4)


def graceful_timeout() -> int:
    return _int("GUNICORN_GRACEFUL_TIMEOUT", 10)


def gunicorn_options() -> dict[str, int | str]:
    """What only gunicorn reads (gunicorn_conf.py)."""
    return {
        "timeout": _int("GUNICORN_TIMEOUT", 30),
        "keepalive": _int("GUNICORN_KEEPALIVE", 5),
        "max_requests": _int("GUNICORN_MAX_REQUESTS", 0),
        "loglevel": os.environ.get("GUNICORN_LOG_LEVEL", "info"),
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
    }


def web_server() -> str:
    """WEB_SERVER: gunicorn or granian ('' when unset: the entrypoint's default)."""
    return os.environ.get("WEB_SERVER", "")


def registration_enabled() -> bool:
    """SERVICE_REGISTRATION: `on` (the default) lets an instance register with the gateway."""
    return os.environ.get("SERVICE_REGISTRATION", "on").lower() not in ("off", "false", "0", "no")


def migrate_on_start() -> bool:
    return os.environ.get("MIGRATE_ON_START", "").lower() in ("1", "true", "yes")


def metrics_dir(service: str) -> Path:
    """PROMETHEUS_MULTIPROC_DIR, set here (for the workers to inherit) when unset."""
    default = str(var_dir() / "prometheus" / service)
    return Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", default))


def header_timeout() -> float:
    """CLIENT_HEADER_TIMEOUT: seconds a client has to send its request line and headers,
    from its connection (a kept-alive connection: from the next request's first byte)."""
    return _seconds("CLIENT_HEADER_TIMEOUT", 10.0)


def body_timeout() -> float:
    """CLIENT_BODY_TIMEOUT: seconds a client has to send its request body once its headers
    are in, and to take its answer."""
    return _seconds("CLIENT_BODY_TIMEOUT", 20.0)


def max_body_size() -> int:
    """The largest request body the server takes, bytes: the project's own limit
    (GATEWAY_MAX_BODY_BYTES for the gateway, MAX_BODY_BYTES for a service; 1 MiB), so
    a larger one is 413 before it is read, and one knob moves both."""
    variable = "GATEWAY_MAX_BODY_BYTES" if service_name() == "gateway" else "MAX_BODY_BYTES"
    size = _int(variable, 1024 * 1024)
    if size < 0:
        raise ServerConfigError(f"{variable} must be 0 or more, not {size}")
    return size


def worker_connections() -> int:
    """WEB_CONNECTIONS: connections one gunicorn worker holds at once (1000), reading,
    served or kept alive; past it the worker stops accepting until one closes."""
    connections = _int("WEB_CONNECTIONS", 1000)
    if connections < 1:
        raise ServerConfigError(f"WEB_CONNECTIONS must be 1 or more, not {connections}")
    return connections


def check() -> None:
    """Read every server variable once, so a bad one stops the start (ServerConfigError)."""
    listen_address(), worker_processes(), worker_threads(), graceful_timeout()
    gunicorn_options(), header_timeout(), body_timeout(), heartbeat_seconds()
    max_body_size(), worker_connections()


def instance_url() -> str:
    """SERVICE_INSTANCE_URL, else this server's address as HOST/PORT say (a wildcard
    address becomes this machine's name, which its peers can resolve)."""
    if url := os.environ.get("SERVICE_INSTANCE_URL"):
        return url.rstrip("/")
    address, port = listen_address()
    if address in ("0.0.0.0", "::", ""):  # noqa: S104 -- a comparison, not a bind
        address = socket.gethostname()
    elif ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{port}"


def heartbeat_seconds() -> float:
    """REGISTRY_HEARTBEAT_SECONDS: how often an instance renews its registration (5)."""
    return _seconds("REGISTRY_HEARTBEAT_SECONDS", 5.0)
