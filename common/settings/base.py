"""The settings every project shares; a project's settings.py names the rest, each
setting an assignment, the project-dependent ones from the functions at the end:

from common.settings.base import *  # noqa: F403 -- the shared base

SERVICE_NAME = "products"
SECRET_KEY = secret_key(SERVICE_NAME)
DATABASES = {"default": database_for(SERVICE_NAME)}
...
ROOT_URLCONF = "product_service.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "product_service.catalog"]  # noqa: F405

Importing it reads the environment and nothing else: no directory is made and no
variable set (in development, secrets not given are generated under var/ once).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from common.settings.env import (
    REPO_ROOT,
    app_env,
    env,
    environment_of,
    is_development,
    jwt_jwks_url,
    jwt_public_keys,
    secret,
    service_urls,
    var_dir,
)
from common.settings.namespaces import CommonSettings
from common.topology import SERVICES

APP_ENV = app_env()
DEBUG = env.bool("DEBUG", default=False)
if DEBUG and APP_ENV == "production":
    raise ImproperlyConfigured("DEBUG=true is refused with APP_ENV=production")

BASE_DIR = REPO_ROOT
VAR_DIR = var_dir()

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=["*"] if is_development() else ["localhost", "127.0.0.1", "[::1]"],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The gateway sends the client's Host as X-Forwarded-Host, checked against ALLOWED_HOSTS
# (the admin's redirects stay on it). Links in API answers do not use it: they start with
# PUBLIC_ORIGIN (common.http.pagination), so a client's Host never reaches a cached answer.
# The gateway itself turns this off and reads X-Forwarded-* only from GATEWAY_TRUSTED_PROXIES.
USE_X_FORWARDED_HOST = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# Sessions are the admins' only: a working day, not Django's two weeks (docs/security.md, 17).
SESSION_COOKIE_AGE = env.int("ADMIN_SESSION_SECONDS", default=8 * 3600)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "common",
]

MIDDLEWARE = [
    "common.http.middleware.RequestIdMiddleware",
    "common.observability.tracing.TracingMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "common.http.middleware.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.http.middleware.OptionalTrailingSlashMiddleware",
    # API views (no session) skip from here to API_PATH_MIDDLEWARE: common/http/api_path.py.
    "common.http.api_path.ApiPathMiddleware",
    "common.identity.admin_mount.AdminMountMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "common.identity.admin_mount.AdminSingleSignOnMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.http.problems.ProblemDetailsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

API_PATH_MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.http.problems.ProblemDetailsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Canonical API paths have no trailing slash; OptionalTrailingSlashMiddleware accepts
# one without a redirect (POST included), so CommonMiddleware must not redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Before the apps' own: common's admin/base_site.html (every admin's header row
        # linking the other admins, the docs and the dashboard) over django.contrib.admin's.
        "DIRS": [REPO_ROOT / "common" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

CSRF_FAILURE_VIEW = "common.http.problems.csrf_failure"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "common.identity.hashers.OWASPArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "/static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Served by whitenoise in production too; finders let a fresh checkout serve the admin's
# and Swagger UI's assets before anyone ran collectstatic.
WHITENOISE_USE_FINDERS = True

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_BODY_BYTES", default=1_048_576)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "common.identity.auth.CachedStatelessJWTAuthentication",
        "common.identity.auth.GatewayConsumerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.http.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "common.http.schema.ProblemAutoSchema",
    "EXCEPTION_HANDLER": "common.http.problems.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

JWT_ISSUER = env.str("JWT_ISSUER", default="users")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="api")

# Each project's settings module assigns it (COMMON = common_namespace(SERVICE_NAME)): named
# here for the type checker only, with no value, so the star import brings nothing.
COMMON: dict[str, Any]

SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_LIFETIME", default=900)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_LIFETIME", default=86400)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "user_id",
    "AUTH_TOKEN_CLASSES": ("common.identity.jwt.AccessToken",),
    "TOKEN_USER_CLASS": "rest_framework_simplejwt.models.TokenUser",
    "LEEWAY": env.int("JWT_LEEWAY", default=5),
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()

# Staff accounts of the user service log into every other admin (common.identity.sso), each
# login counted per client IP first. The user service names its own.
AUTHENTICATION_BACKENDS = [
    "common.identity.sso.AdminLoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    "common.identity.sso.UserServiceBackend",
]


def secret_key(name: str) -> str:
    """SECRET_KEY: <SERVICE>_SECRET_KEY (so one environment, manage_all.py's, can give each
    project its own), else SECRET_KEY; generated under var/ in development only."""
    service = SERVICES[name]
    return env.str(service.secret_key_var, default="") or secret(
        "SECRET_KEY", dev_name=f"secret_key_{name}"
    )


def static_root(name: str) -> Path:
    """STATIC_ROOT: per project (the gateway routes /static/<name>/ to each service's
    admin). Made by collectstatic or at start (common.apps), not here."""
    return var_dir() / "static" / name


def common_namespace(name: str) -> dict[str, Any]:
    """COMMON: defaults, parsing and checks in common.settings.namespaces.CommonSettings
    (code reads it through common_settings). The dict is complete, so tests override keys
    of it."""
    return CommonSettings.from_mapping(
        {
            **environment_of(CommonSettings),
            "SERVICE_NAME": name,
            "SERVICE_TOKEN": secret("SERVICE_TOKEN", dev_name="service_token"),
            "SERVICE_URLS": service_urls(),
            "JWT_PUBLIC_KEYS": jwt_public_keys(signer=name == "users"),
            "JWT_JWKS_URL": jwt_jwks_url(),
            "PUBLIC_ORIGIN": public_origin(),
        }
    ).as_dict()


def openapi_settings(name: str) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS: the project's document, its Swagger UI from local assets."""
    title = SERVICES[name].title
    return {
        "TITLE": title,
        "DESCRIPTION": f"{title} of the Django API gateway platform.",
        "VERSION": "0.1.0",
        "SERVE_INCLUDE_SCHEMA": False,
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "COMPONENT_SPLIT_REQUEST": True,
        "SCHEMA_PATH_PREFIX": "/",
    }


def public_origin() -> str:
    """PUBLIC_ORIGIN; in development the gateway's URL on this machine (its registry port,
    or GATEWAY_PORT as `up` reads it), in production none: relative links until set."""
    if not is_development():
        origin: str = env.str("PUBLIC_ORIGIN", default="")
        return origin
    gateway = SERVICES["gateway"]
    port = env.int(gateway.port_var, default=gateway.port)
    return env.str("PUBLIC_ORIGIN", default="") or f"http://127.0.0.1:{port}"


def logging_config(service: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "common.observability.logging.RequestIdFilter", "service": service}
        },
        "formatters": {"json": {"()": "common.observability.logging.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": LOG_LEVEL},
        "loggers": {
            # Our access log replaces django.server/django.request's lines.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
        },
    }
