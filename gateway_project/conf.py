"""settings.GATEWAY as one typed object, `gateway_settings` (see common.settings.namespaces),
and what the gateway's settings.py adds over the common base from here (`gateway_namespace`,
`ALLOWED_REQUEST_HEADERS`).

Every layer reads it; the defaults, the parsing (rates once, not per request) and the
checks are the fields below, and so are the environment variables. No Django settings
are read at import: the settings module uses it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from common.settings.env import environment_of
from common.settings.namespaces import (
    Namespace,
    Rate,
    SettingsObject,
    items,
    networks,
    number,
    parse_rate,
    setting,
    text,
)
from common.topology import UPSTREAMS

# GATEWAY_BALANCER's strategies (common.upstreams.balancers has one class each).
BALANCERS = ("round_robin", "least_request")


def per_service(spec: str, service: str) -> str | None:
    """The value `spec` gives `service`: its own (`products=...`), else the default entry
    (one without `=`), else None. `spec` is a checked setting (`per_service_setting`)."""
    default = None
    for entry in (part.strip() for part in spec.split(",")):
        name, sep, value = entry.rpartition("=")
        if sep and name.strip() == service:
            return value.strip()
        if not sep and entry:
            default = entry
    return default


def per_service_setting(check: Any) -> Any:
    """A parser for 'default,service=value,...' whose values `check` accepts (raising
    ValueError) and whose services are the registry's."""

    def parse(value: Any) -> str:
        entries = [entry.strip() for entry in text(value).split(",") if entry.strip()]
        for entry in entries:
            service, sep, given = (part.strip() for part in entry.rpartition("="))
            if sep and service not in UPSTREAMS:
                raise ValueError(f"unknown service {service!r} in {entry!r}")
            check(given)
        return ",".join(entries)

    return parse


def slots(value: str) -> None:
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"expected a number of requests (1 or more), not {value!r}")


def balancer_name(value: str) -> None:
    if value not in BALANCERS:
        raise ValueError(f"unknown balancer {value!r} (one of {', '.join(BALANCERS)})")


def balancer_choice(value: Any) -> str:
    """GATEWAY_BALANCER: a strategy, optionally with per-service ones
    ('round_robin,products=least_request'); a name it does not know is an error, not
    round robin by surprise."""
    checked: str = per_service_setting(balancer_name)(value)
    if not checked:
        raise ValueError(f"expected a balancer (one of {', '.join(BALANCERS)})")
    return checked


def origins(value: Any) -> tuple[str, ...]:
    """Browser origins, `scheme://host[:port]` each (no path): what CORS compares."""
    entries = items(value)
    for entry in entries:
        scheme, sep, rest = entry.partition("://")
        if not (scheme and sep and rest) or "/" in rest:
            raise ValueError(f"not an origin (scheme://host[:port]): {entry!r}")
    return entries


seconds = number(float)  # 0 allowed: it turns the feature off where a field says so
positive_seconds = number(float, above=True)
count = number(int)


@dataclasses.dataclass(frozen=True)
class GatewaySettings(Namespace):
    """settings.GATEWAY."""

    NAME: ClassVar[str] = "GATEWAY"

    # The route table (gateway_project/settings.py; gateway_project.routing.table checks it).
    ROUTES: list[dict[str, Any]] = setting([], list)
    RATES: dict[str, Rate] = setting(
        {
            "anon": parse_rate("100/min"),
            "user": parse_rate("1000/min"),
            "auth": parse_rate("10/min"),
            # An API key's consumer, unless the consumer has its own rate.
            "consumer": parse_rate("600/min"),
        },
        parse_rate,
        env={
            "anon": "GATEWAY_RATE_ANON",
            "user": "GATEWAY_RATE_USER",
            "auth": "GATEWAY_RATE_AUTH",
            "consumer": "GATEWAY_RATE_CONSUMER",
        },
    )
    # The HMAC key of stored API keys (gateway_project.consumers.keys); empty: derived
    # from SECRET_KEY (set it to rotate SECRET_KEY without making every key unusable).
    API_KEY_SECRET: str = setting("", text, env="GATEWAY_API_KEY_SECRET")
    FAIL_CLOSED_SCOPES: tuple[str, ...] = setting((), items, env="GATEWAY_FAIL_CLOSED_SCOPES")
    # The gateway reads X-Forwarded-* only from these (also its COMMON["TRUSTED_PROXIES"]).
    TRUSTED_PROXIES: tuple[str, ...] = setting((), networks, env="GATEWAY_TRUSTED_PROXIES")
    # IPv6 clients share a limit per network of this prefix length.
    IPV6_PREFIX: int = setting(64, number(int, minimum=1, maximum=128), env="GATEWAY_IPV6_PREFIX")
    MAX_BODY_BYTES: int = setting(1_048_576, count, env="GATEWAY_MAX_BODY_BYTES")
    # The longest the response cache keeps a product answer (the route table's `cache`
    # for the product routes; the service's Surrogate-Control max-age, else its
    # Cache-Control, may say less). 0: not cached.
    CACHE_SECONDS: int = setting(30, count, env="GATEWAY_CACHE_SECONDS")
    # Browser origins allowed (django-cors-headers' CORS_ALLOWED_ORIGINS).
    CORS_ALLOWED_ORIGINS: tuple[str, ...] = setting((), origins, env="CORS_ALLOWED_ORIGINS")
    # Who may read /ready, /metrics, /api/schema and /api/docs in production
    # (gateway_project.operator_endpoints): a caller sending `Authorization: Bearer
    # <OPS_TOKEN>`, or a client (as the trusted proxies name it) in OPS_NETWORKS.
    # Development serves them to everyone.
    OPS_TOKEN: str = setting("", text, env="GATEWAY_OPS_TOKEN")
    OPS_NETWORKS: tuple[str, ...] = setting(
        ("127.0.0.0/8", "::1"), networks, env="GATEWAY_OPS_NETWORKS"
    )
    # Upstream timeouts: COMMON's HTTP_CONNECT_TIMEOUT / HTTP_READ_TIMEOUT unless given
    # (the settings module copies them in; a route may set its own).
    CONNECT_TIMEOUT: float = setting(1.0, positive_seconds)
    READ_TIMEOUT: float = setting(5.0, positive_seconds)
    # Discovery, balancing, health, breakers and retries (gateway_project/upstreams).
    BALANCER: str = setting("round_robin", balancer_choice, env="GATEWAY_BALANCER")
    # Requests of one worker that may wait on one service at once ('3', 'orders=2' or
    # '3,orders=2'); a service not named gets all of a worker's threads but one
    # (gateway_project.upstreams.bulkhead). Over it, a request waits BULKHEAD_WAIT for a
    # slot; when none came free for that long, it gets 503 at once.
    BULKHEAD: str = setting("", per_service_setting(slots), env="GATEWAY_BULKHEAD")
    BULKHEAD_WAIT: float = setting(1.0, seconds, env="GATEWAY_BULKHEAD_WAIT")
    BREAKER_FAILURES: int = setting(5, number(int, minimum=1), env="GATEWAY_BREAKER_FAILURES")
    BREAKER_RESET_SECONDS: float = setting(
        10.0, positive_seconds, env="GATEWAY_BREAKER_RESET_SECONDS"
    )
    EJECT_CONSECUTIVE: int = setting(5, number(int, minimum=1), env="GATEWAY_EJECT_CONSECUTIVE")
    EJECT_BASE_SECONDS: float = setting(10.0, seconds, env="GATEWAY_EJECT_BASE_SECONDS")
    HEALTH_INTERVAL: float = setting(5.0, seconds, env="GATEWAY_HEALTH_INTERVAL")  # 0: off
    RETRY_BUDGET: float = setting(0.2, seconds, env="GATEWAY_RETRY_BUDGET")
    RETRY_BUDGET_MIN: int = setting(3, count)  # retries a quiet service may always make
    REGISTRY_TTL: float = setting(15.0, positive_seconds, env="GATEWAY_REGISTRY_TTL")
    REGISTRY_ALLOWED_HOSTS: tuple[str, ...] = setting(
        ("127.0.0.1", "::1", "localhost"), items, env="GATEWAY_REGISTRY_ALLOWED_HOSTS"
    )
    REGISTRY_REFRESH_SECONDS: float = setting(1.0, positive_seconds)  # each worker's reads
    DNS_MIN_TTL: float = setting(1.0, seconds)  # a DNS answer's TTL is clamped to these
    DNS_MAX_TTL: float = setting(30.0, seconds)
    DNS_NAMESERVERS: tuple[str, ...] = setting((), items, env="GATEWAY_DNS_NAMESERVERS")
    # Tuning knobs, settings rather than environment variables:
    HEALTH_TIMEOUT: float = setting(1.0, positive_seconds)  # each service's /ready in /health
    HEALTH_CACHE_SECONDS: float = setting(1.0, seconds)  # GET /health answers kept this long
    TOKEN_CACHE_SECONDS: float = setting(30.0, seconds)  # verified-token cache; 0: off
    THROTTLE_BACKEND_RETRY_SECONDS: float = setting(1.0, seconds)  # after a Redis failure
    THROTTLE_FAILURE_LOG_INTERVAL: float = setting(60.0, seconds)  # per scope and worker


gateway_settings: GatewaySettings = SettingsObject(GatewaySettings)  # type: ignore[assignment]

# Headers a browser may read from answers it gets through the gateway.
EXPOSED_HEADERS = [
    "X-Request-ID",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Location",
    "X-Cache",
    "Age",
]


def gateway_from_environment(common: dict[str, Any]) -> GatewaySettings:
    """GATEWAY as the environment sets it (`common`: the project's COMMON), routes aside."""
    return GatewaySettings.from_mapping(
        {
            # The upstream timeouts are COMMON's unless a test overrides GATEWAY's.
            "CONNECT_TIMEOUT": common["HTTP_CONNECT_TIMEOUT"],
            "READ_TIMEOUT": common["HTTP_READ_TIMEOUT"],
            **environment_of(GatewaySettings),
        }
    )


def gateway_namespace(gateway: GatewaySettings, routes: list[dict[str, Any]]) -> dict[str, Any]:
    """GATEWAY: `gateway` with its route table."""
    return dataclasses.replace(gateway, ROUTES=list(routes)).as_dict()


# Request headers a browser on an allowed origin may send (django-cors-headers).
ALLOWED_REQUEST_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "traceparent",
    "tracestate",
    "x-request-id",
]
