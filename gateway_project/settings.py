"""The gateway's settings: the shared base, the route table and the GATEWAY namespace."""

from typing import Any

from common.settings.base import *  # noqa: F403 -- the shared base
from common.settings.base import (
    common_namespace,
    logging_config,
    openapi_settings,
    secret_key,
    static_root,
)
from common.settings.env import cache_for, database_for
from common.topology import UPSTREAMS
from gateway_project.conf import (
    ALLOWED_REQUEST_HEADERS,
    EXPOSED_HEADERS,
    gateway_from_environment,
    gateway_namespace,
)
from gateway_project.routing.policies import PUBLIC, STAFF, USER

SERVICE_NAME = "gateway"
SECRET_KEY = secret_key(SERVICE_NAME)
DATABASES = {"default": database_for(SERVICE_NAME)}
CACHES = {"default": cache_for(SERVICE_NAME)}
# Per project, so the gateway can route /static/<name>/ to each service's admin.
STATIC_ROOT = static_root(SERVICE_NAME)
STATIC_URL = f"/static/{SERVICE_NAME}/"
SESSION_COOKIE_NAME = f"{SERVICE_NAME}_sessionid"
CSRF_COOKIE_NAME = f"{SERVICE_NAME}_csrftoken"
COMMON = common_namespace(SERVICE_NAME)
SPECTACULAR_SETTINGS = openapi_settings(SERVICE_NAME)
LOGGING = logging_config(SERVICE_NAME)
WSGI_APPLICATION = "gateway_project.wsgi.application"
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
_gateway = gateway_from_environment(COMMON)  # GATEWAY, parsed from the environment
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

GATEWAY = gateway_namespace(_gateway, GATEWAY_ROUTES)
# The gateway trusts X-Forwarded-* only from GATEWAY_TRUSTED_PROXIES, for its own
# client-IP readings too (the admin's login limits), and reads X-Forwarded-Host from none.
COMMON = {**COMMON, "TRUSTED_PROXIES": _gateway.TRUSTED_PROXIES}
USE_X_FORWARDED_HOST = False
# Bodies are checked against GATEWAY_MAX_BODY_BYTES before Django reads them.
DATA_UPLOAD_MAX_MEMORY_SIZE = _gateway.MAX_BODY_BYTES
CORS_ALLOWED_ORIGINS = list(_gateway.CORS_ALLOWED_ORIGINS)
CORS_EXPOSE_HEADERS = EXPOSED_HEADERS
CORS_ALLOW_HEADERS = ALLOWED_REQUEST_HEADERS
CORS_PREFLIGHT_MAX_AGE = 600
