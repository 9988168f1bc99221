"""Start one project: the command containers, manage_all.py and tests run.

    python -m common.runtime.entrypoint products [--migrate]

Settings are loaded first, so a missing production secret stops it with one line naming
the variable, not a worker traceback. The HTTP server is `WEB_SERVER`: gunicorn (gthread)
for every project by default, since only under it are slow clients bounded (headers, body
and answer: common.runtime.slow_clients); granian (a Rust HTTP/1.1 server calling the WSGI app,
less CPU per request at the gateway: docs/performance.md, "What each change bought")
bounds the headers only, so it belongs behind a proxy that buffers request bodies. Both
run common.runtime.wsgi.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common.settings import server_env
from common.settings.server_env import graceful_timeout, listen_address, worker_processes
from common.topology import SERVICES

CONF = Path(__file__).with_name("gunicorn_conf.py")
SERVERS = ("granian", "gunicorn")
# What both servers run: the project's app within the client bounds (common.runtime.slow_clients).
WSGI_APP = "common.runtime.wsgi:application"


# Every project's server unless WEB_SERVER says otherwise: only gunicorn's worker reads
# requests within the slow-client bounds (common/runtime/gunicorn_worker.py).
DEFAULT_SERVER = "gunicorn"


def empty_metrics_dir(service: str) -> None:
    """prometheus_client's multiprocess directory, made empty before any worker starts.

    Every worker writes its samples there and /metrics sums them, so a directory left by
    an earlier run would be summed in. The variable is set here for the workers to
    inherit; they must not import prometheus_client before it is.
    """
    directory = server_env.metrics_dir(service)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


# pg_advisory_lock key for migrations: any constant, the same in every replica.
MIGRATE_LOCK = 0x6D696772  # "migr"


def migrate() -> None:
    """Apply migrations; replicas starting together take turns.

    Django's migrate is not safe to run twice at once (both create the same tables). On
    PostgreSQL a session advisory lock queues the others; each then finds nothing left to do.
    """
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        call_command("migrate", interactive=False, verbosity=0)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
    try:
        call_command("migrate", interactive=False, verbosity=0)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])


def granian_argv(service: str, wsgi_app: str) -> list[str]:
    """granian with the same knobs as gunicorn_conf.py: address, processes, threads."""
    from django.conf import settings

    from common.settings.base import logging_config

    host, port = listen_address()
    # granian's own lines (start, workers) in the app's JSON, like gunicorn's.
    log_config = Path(settings.VAR_DIR) / f"granian-logging-{service}.json"
    log_config.parent.mkdir(parents=True, exist_ok=True)
    log_config.write_text(json.dumps(logging_config(service)))
    empty_metrics_dir(service)
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--http",
        "1",
        "--no-ws",
        "--host",
        host,
        "--port",
        port,
        "--workers",
        str(worker_processes()),
        "--blocking-threads",
        str(server_env.worker_threads()),
        "--respawn-failed-workers",
        "--workers-kill-timeout",
        str(graceful_timeout()),
        # Headers are read in Rust: granian's own bound (milliseconds, at most 60 s).
        "--http1-header-read-timeout",
        str(min(60_000, max(1, int(server_env.header_timeout() * 1000)))),
        "--log-config",
        str(log_config),
        "--no-access-log",  # the app writes one JSON access line per request itself
        wsgi_app,
    ]


def start_registration(service: str) -> None:
    """With GATEWAY_INTERNAL_URL set, a service registers with the gateway and heartbeats
    (common.runtime.registration) from a small child process that outlives this exec as the
    server's child, and leaves when the server stops. It is handed what the settings say
    (its token on stdin, where `ps` does not show it). SERVICE_REGISTRATION=off (what
    `manage_all.py up` passes a service it runs once) skips it: the gateway then knows the
    instance from <NAME>_SERVICE_URL alone."""
    from common.settings.namespaces import common_settings

    gateway = common_settings.GATEWAY_INTERNAL_URL
    if service == "gateway" or not gateway:
        return
    if not server_env.registration_enabled():
        return

    from common.identity.auth import own_service_token

    child = subprocess.Popen(  # noqa: S603 -- this interpreter, our module, our settings
        [sys.executable, "-m", "common.runtime.registration", service, gateway],
        stdin=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None  # stdin=PIPE
    child.stdin.write(own_service_token() + "\n")
    child.stdin.close()


def is_shared_cache() -> bool:
    """Whether the default cache is shared across processes (Redis), not local memory."""
    from django.conf import settings

    return "locmem" not in settings.CACHES["default"]["BACKEND"].lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.runtime.entrypoint")
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument(
        "--migrate",
        action="store_true",
        default=server_env.migrate_on_start(),
        help="apply migrations before serving (also MIGRATE_ON_START=true)",
    )
    args = parser.parse_args(argv)
    service = SERVICES[args.service]
    server = server_env.web_server() or DEFAULT_SERVER
    if server not in SERVERS:
        print(
            f"{service.name}: configuration error: WEB_SERVER must be one of "
            f"{', '.join(SERVERS)}, not {server!r}",
            file=sys.stderr,
        )
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = service.settings_module
    os.environ["SERVICE_NAME"] = service.name
    server_env.resolve_aliases()

    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        server_env.check()
        django.setup()
    except (ImproperlyConfigured, server_env.ServerConfigError) as error:
        print(f"{service.name}: configuration error: {error}", file=sys.stderr)
        return 2
    if service.name == "gateway" and not is_shared_cache():
        # Local-memory throttle counters are exact only inside one process.
        os.environ["WEB_CONCURRENCY"] = "1"
        server_env.say("INFO", "no REDIS_URL: local-memory cache, the gateway runs as one process")
    if args.migrate:
        migrate()
    start_registration(service.name)
    if server == "granian":
        command = granian_argv(service.name, WSGI_APP)
    else:
        command = [sys.executable, "-m", "gunicorn", "-c", str(CONF), WSGI_APP]
    os.execv(sys.executable, command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
