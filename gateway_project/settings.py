"""The gateway's settings: the shared base, the route table and the GATEWAY namespace."""

from typing import Any

from common.settings.base import *  # noqa: F403 -- the shared base
from common.settings.base import service_settings
from common.topology import UPSTREAMS
from gateway_project.conf import gateway_django_settings, gateway_from_environment
from gateway_project.routing.policies import PUBLIC, STAFF, USER

globals().update(service_settings("gateway"))
ROOT_URLCONF = "gateway_project.urls"
INSTALLED_APPS = [
    *INSTALLED_APPS,  # noqa: F405
    "corsheaders",
    "gateway_project.proxy",
    "gateway_project.upstreams",
    "gateway_project.response_cache",
    "gateway_project.docs_hub",
    "gateway_project.dashboard",
    "gateway_project.consumers",
    "gateway_project.landing",
]
# Forwarded requests pass only these; ProxyFastPathMiddleware hands every other path on
# to the rest of the common chain (sessions, CSRF, auth, ... for the admin and docs).
_PROXY_PATH_MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "common.http.middleware.RequestIdMiddleware",
    "common.observability.tracing.TracingMiddleware",
    "common.http.middleware.AccessLogMiddleware",
    "common.http.middleware.OptionalTrailingSlashMiddleware",
    "gateway_project.proxy.middleware.ProxyFastPathMiddleware",
]
MIDDLEWARE = [
    *_PROXY_PATH_MIDDLEWARE,
    *(name for name in MIDDLEWARE if name not in _PROXY_PATH_MIDDLEWARE),  # noqa: F405
]

# The route table: the only paths the gateway forwards (unchanged) to a service.
# `path` uses Django's path syntax (`<segment:id>`: one segment, never `.` or `..`);
# `methods` maps each method to its auth policy;
# `throttle` is "auth" (per client IP) or "default" (per user when signed in, else per IP);
# optional `connect_timeout`/`read_timeout` (seconds) override the defaults;
# `cache` (seconds) lets the response cache keep the route's GET answers that long at
# most (gateway_project/response_cache); `keys` maps a method to the scope an API key
# needs for it (gateway_project/consumers: a method not named takes no key); later
# per-route settings go in the same dict.
_gateway = gateway_from_environment(COMMON)  # noqa: F405 -- GATEWAY, parsed from the environment
CACHE_SECONDS = _gateway.CACHE_SECONDS
GATEWAY_ROUTES: list[dict[str, Any]] = [
    {"path": "users/register", "service": "users", "methods": {"POST": PUBLIC}, "throttle": "auth"},
    {"path": "users/login", "service": "users", "methods": {"POST": PUBLIC}, "throttle": "auth"},
    {
        "path": "users/token/refresh",
        "service": "users",
        "methods": {"POST": PUBLIC},
        "throttle": "auth",
    },
    # Public: the refresh token in the body is the credential (an expired access token
    # must not stand in the way of logging out).
    {"path": "users/logout", "service": "users", "methods": {"POST": PUBLIC}, "throttle": "auth"},
    {"path": "users/password", "service": "users", "methods": {"POST": USER}},
    {"path": "users/profile", "service": "users", "methods": {"GET": USER, "PATCH": USER}},
    {"path": "users/.well-known/jwks.json", "service": "users", "methods": {"GET": PUBLIC}},
    {
        "path": "products",
        "service": "products",
        "methods": {"GET": PUBLIC, "POST": STAFF},
        "cache": CACHE_SECONDS,
        "keys": {"GET": "products:read"},
    },
    {
        "path": "products/<segment:id>",
        "service": "products",
        "methods": {"GET": PUBLIC, "PUT": STAFF, "PATCH": STAFF, "DELETE": STAFF},
        "cache": CACHE_SECONDS,
        "keys": {"GET": "products:read"},
    },
    # Orders reserve stock at products while the client waits: a longer read timeout.
    {
        "path": "orders",
        "service": "orders",
        "methods": {"GET": USER, "POST": USER},
        "read_timeout": 10,
        "keys": {"GET": "orders:read", "POST": "orders:write"},
    },
    {
        "path": "orders/<segment:id>",
        "service": "orders",
        "methods": {"GET": USER},
        "keys": {"GET": "orders:read"},
    },
    {
        "path": "orders/<segment:id>/cancel",
        "service": "orders",
        "methods": {"POST": USER},
        "read_timeout": 10,
        "keys": {"POST": "orders:write"},
    },
    # People's pages: each service's admin and its static files (the admin's links, forms
    # and redirects stay under its prefix: common.identity.admin_mount). The admin checks its own
    # sign-in; its login is limited per username by the user service.
    *(
        {
            "path": f"admin/{name}/<subpath:rest>",
            "service": name,
            "methods": {"GET": PUBLIC, "POST": PUBLIC},
            "throttle": "none",
        }
        for name in UPSTREAMS
    ),
    *(
        {
            "path": f"static/{name}/<subpath:rest>",
            "service": name,
            "methods": {"GET": PUBLIC},
            "throttle": "none",
        }
        for name in UPSTREAMS
    ),
]

globals().update(gateway_django_settings(_gateway, GATEWAY_ROUTES, COMMON))  # noqa: F405
