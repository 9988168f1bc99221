"""The Django settings the gateway adds over the common base, `GATEWAY` among them.

Imported by gateway_project/settings.py before Django is set up. GATEWAY's fields, defaults
and variables are gateway_project.conf.GatewaySettings; code reads `gateway_settings`.
"""

from __future__ import annotations

from typing import Any

from common.config import env, environment_of
from gateway_project.conf import GatewaySettings

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


def gateway_django_settings(routes: list[dict[str, Any]], common: dict[str, Any]) -> dict[str, Any]:
    """Django settings the gateway adds over the common base (`common`: its COMMON)."""
    gateway = GatewaySettings.from_mapping(
        {
            # The upstream timeouts are COMMON's unless a test overrides GATEWAY's.
            "CONNECT_TIMEOUT": common["HTTP_CONNECT_TIMEOUT"],
            "READ_TIMEOUT": common["HTTP_READ_TIMEOUT"],
            **environment_of(GatewaySettings),
            "ROUTES": routes,
        }
    )
    return {
        "GATEWAY": gateway.as_dict(),
        # The gateway trusts X-Forwarded-* only from GATEWAY_TRUSTED_PROXIES, for its own
        # client-IP readings too (the admin's login limits).
        "COMMON": {**common, "TRUSTED_PROXIES": gateway.TRUSTED_PROXIES},
        # The gateway reads X-Forwarded-* only from GATEWAY_TRUSTED_PROXIES, itself.
        "USE_X_FORWARDED_HOST": False,
        # Bodies are checked against GATEWAY_MAX_BODY_BYTES before Django reads them.
        "DATA_UPLOAD_MAX_MEMORY_SIZE": gateway.MAX_BODY_BYTES,
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
