"""What `up` starts and shows, computed from the registry: nothing here names a service.

Each function takes the registry (the real one by default), so a test can build the plan
of a registry with one more service (tests/test_registry_new_service.py).
"""

from __future__ import annotations

import os

from common.topology import GATEWAY, SERVICES, Service, upstreams
from devtools.launcher.console import UP_COLOUR

NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
Registry = dict[str, Service]


def count_word(count: int) -> str:
    """`all four are ready`: the registry's size in words."""
    return NUMBERS[count] if count < len(NUMBERS) else str(count)


def start_order(services: Registry = SERVICES) -> tuple[str, ...]:
    """The upstreams in registry order, the gateway last: it routes to all of them.
    Migrations run in this order too (compose's and Kubernetes' migrate loops)."""
    return (*upstreams(services), *(n for n, s in services.items() if s.is_gateway))


def colours(services: Registry = SERVICES) -> dict[str, str]:
    """ANSI colour of each project's prefix, and of the launcher's own lines."""
    return {**{name: service.colour for name, service in services.items()}, "up": UP_COLOUR}


def scalable(services: Registry = SERVICES) -> tuple[str, ...]:
    """What `--scale` accepts: the services that register with the gateway."""
    return upstreams(services)


def port_for(service: Service) -> int:
    """The port `up` serves a project on: its registry port, or <NAME>_PORT."""
    return int(os.environ.get(service.port_var, service.port))


def project_env(service: Service | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("APP_ENV", "development")
    if env["APP_ENV"] == "development":
        # A laptop: one worker (with its threads) per project; production's default is 2.
        env.setdefault("WEB_CONCURRENCY", "1")
    for other in SERVICES.values():
        if not other.is_gateway:
            env.setdefault(other.url_var, f"http://127.0.0.1:{port_for(other)}")
    # The gateway, as services reach it: instance registration, response-cache purges.
    env.setdefault("GATEWAY_INTERNAL_URL", f"http://127.0.0.1:{port_for(SERVICES[GATEWAY])}")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if service is not None:
        env["DJANGO_SETTINGS_MODULE"] = service.settings_module
        env["SERVICE_NAME"] = service.name
    env.update(extra)
    return env


def front_door(gateway_port: int, services: Registry = SERVICES) -> list[tuple[str, str]]:
    """The URL table's first part: everything through the gateway."""
    gateway = f"http://localhost:{gateway_port}"
    return [
        ("start here (links to all)", f"{gateway}/"),
        ("Swagger UI, every service", f"{gateway}/docs"),
        ("OpenAPI, merged", f"{gateway}/openapi.json"),
        ("dashboard (staff)", f"{gateway}/dashboard"),
        ("admin: gateway", f"{gateway}/admin/"),
        *((f"admin: {name}", f"{gateway}/admin/{name}/") for name in upstreams(services)),
        ("health", f"{gateway}/health"),
    ]


OWN_PORT_HEADERS = ("own port", "base URL", "health", "Swagger UI", "admin")


def own_port_rows(
    instances: list[tuple[str, Service, int]], services: Registry = SERVICES
) -> list[tuple[str, ...]]:
    """The URL table's second part: one row per instance (label, service, port), in
    registry order."""
    order = list(services)
    rows = []
    for label, service, port in sorted(instances, key=lambda i: order.index(i[1].name)):
        base = f"http://localhost:{port}"
        health = f"{base}/health" if service.is_gateway else f"{base}/ready"
        rows.append((label, base, health, f"{base}/api/docs", f"{base}/admin/"))
    return rows


def pytest_suites(services: Registry = SERVICES) -> dict[str, tuple[str | None, str]]:
    """`test`'s pytest sessions: (settings module or None, path). One per project, with
    the shared package's first and the end-to-end tests last."""
    return {
        "common": ("common.tests.settings", "common/tests"),
        **{name: (s.settings_module, s.package) for name, s in services.items()},
        "e2e": (None, "tests"),
    }
