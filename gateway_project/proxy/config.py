"""The gateway's settings from the environment: one `GATEWAY` dict, read by the proxy.

Imported by gateway_project/settings.py before Django is set up: no Django imports here.
"""

from __future__ import annotations

from typing import Any

from common.config import env

PUBLIC, USER, STAFF = "public", "user", "staff"
POLICIES = (PUBLIC, USER, STAFF)

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


def gateway_settings(routes: list[dict[str, Any]]) -> dict[str, Any]:
    """Django settings the gateway adds over the common base."""
    max_body = env.int("GATEWAY_MAX_BODY_BYTES", default=1_048_576)
    return {
        "GATEWAY": {
            "ROUTES": routes,
            "RATES": {
                "anon": env.str("GATEWAY_RATE_ANON", default="100/min"),
                "user": env.str("GATEWAY_RATE_USER", default="1000/min"),
                "auth": env.str("GATEWAY_RATE_AUTH", default="10/min"),
            },
            "FAIL_CLOSED_SCOPES": env.list("GATEWAY_FAIL_CLOSED_SCOPES", default=[]),
            "TRUSTED_PROXIES": env.list("GATEWAY_TRUSTED_PROXIES", default=[]),
            # IPv6 clients share a limit per network of this prefix length.
            "IPV6_PREFIX": env.int("GATEWAY_IPV6_PREFIX", default=64),
            "MAX_BODY_BYTES": max_body,
            # Upstream timeouts: the common HTTP_CONNECT_TIMEOUT / HTTP_READ_TIMEOUT (a
            # route may set its own).
            "CONNECT_TIMEOUT": env.float("HTTP_CONNECT_TIMEOUT", default=1.0),
            "READ_TIMEOUT": env.float("HTTP_READ_TIMEOUT", default=5.0),
            # Discovery, balancing, health, breakers and retries (gateway_project/upstreams).
            "BALANCER": env.str("GATEWAY_BALANCER", default="round_robin"),
            "BREAKER_FAILURES": env.int("GATEWAY_BREAKER_FAILURES", default=5),
            "BREAKER_RESET_SECONDS": env.float("GATEWAY_BREAKER_RESET_SECONDS", default=10.0),
            "EJECT_CONSECUTIVE": env.int("GATEWAY_EJECT_CONSECUTIVE", default=5),
            "EJECT_BASE_SECONDS": env.float("GATEWAY_EJECT_BASE_SECONDS", default=10.0),
            "HEALTH_INTERVAL": env.float("GATEWAY_HEALTH_INTERVAL", default=5.0),
            "RETRY_BUDGET": env.float("GATEWAY_RETRY_BUDGET", default=0.2),
            "RETRY_BUDGET_MIN": 3,  # retries a quiet service may always make per window
            "REGISTRY_TTL": env.float("GATEWAY_REGISTRY_TTL", default=15.0),
            "REGISTRY_ALLOWED_HOSTS": env.list(
                "GATEWAY_REGISTRY_ALLOWED_HOSTS", default=["127.0.0.1", "::1", "localhost"]
            ),
            "REGISTRY_REFRESH_SECONDS": 1.0,  # how often each worker reads the registry
            "DNS_MIN_TTL": 1.0,  # a DNS answer's TTL is clamped to [min, max] seconds
            "DNS_MAX_TTL": 30.0,
            "DNS_NAMESERVERS": env.list("GATEWAY_DNS_NAMESERVERS", default=[]),
            # Tuning knobs, settings rather than environment variables:
            "HEALTH_TIMEOUT": 1.0,  # seconds for each service's /ready in GET /health
            "HEALTH_CACHE_SECONDS": 1.0,  # GET /health answers kept this long per process
            "TOKEN_CACHE_SECONDS": 30.0,  # verified-token cache lifetime; 0 disables it
            "THROTTLE_BACKEND_RETRY_SECONDS": 1.0,  # after a Redis failure, skip Redis
            "THROTTLE_FAILURE_LOG_INTERVAL": 60.0,  # one log line per scope and worker
        },
        # The gateway reads X-Forwarded-* only from GATEWAY_TRUSTED_PROXIES, itself.
        "USE_X_FORWARDED_HOST": False,
        # Bodies are checked against GATEWAY_MAX_BODY_BYTES before Django reads them.
        "DATA_UPLOAD_MAX_MEMORY_SIZE": max_body,
        "CORS_ALLOWED_ORIGINS": env.list("CORS_ALLOWED_ORIGINS", default=[]),
        "CORS_EXPOSE_HEADERS": EXPOSED_HEADERS,
        "CORS_ALLOW_HEADERS": [
            "accept",
            "authorization",
            "content-type",
            "idempotency-key",
            "traceparent",
            "tracestate",
            "x-request-id",
        ],
        "CORS_PREFLIGHT_MAX_AGE": 600,
    }
