"""Settings from the environment through one reader (django-environ), with dev defaults.

`APP_ENV=development` generates missing secrets and keys once under `var/`; anywhere else
(`production`, the default) a missing one stops the process with a message naming it.
The variables of a settings namespace (COMMON, GATEWAY) are declared with its fields in
common.settings.namespaces and read here by `environment_of`; the server's own variables
(HOST, PORT,
WEB_THREADS, ...) are common.settings.server_env's. Each variable is read in one place
(common/tests/test_settings_sources.py checks it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from common.settings import server_env
from common.topology import SERVICES

REPO_ROOT = Path(__file__).resolve().parents[2]

env = environ.Env()
_env_file = Path(os.environ.get("ENV_FILE", REPO_ROOT / ".env"))
if _env_file.is_file():
    # Variables already in the environment win over the file.
    env.read_env(str(_env_file))

APP_ENVS = ("development", "production")


class MissingSetting(ImproperlyConfigured):
    """A value production must be given; the message names the variable."""

    def __init__(self, variable: str, hint: str = "") -> None:
        self.variable = variable
        super().__init__(
            f"{variable} is not set: with APP_ENV=production it must come from the "
            f"environment or .env{f' ({hint})' if hint else ''}"
        )


def app_env() -> str:
    value: str = env.str("APP_ENV", default="production").strip().lower()
    if value not in APP_ENVS:
        raise ImproperlyConfigured(f"APP_ENV must be one of {', '.join(APP_ENVS)}, not {value!r}")
    return value


def is_development() -> bool:
    return app_env() == "development"


def var_dir() -> Path:
    return server_env.var_dir()  # also the launcher's and the entrypoint's


def environment_of(schema: type) -> dict[str, Any]:
    """The values a namespace's variables give (common.settings.namespaces), as the
    environment's text;
    a variable that is not set is left out, so the namespace's default applies."""
    from common.settings.namespaces import variables

    values: dict[str, Any] = {}
    for name, variable in variables(schema).items():
        if isinstance(variable, Mapping):
            given = {key: env.str(var) for key, var in variable.items() if var in os.environ}
            if given:
                values[name] = given
        elif variable in os.environ:
            values[name] = env.str(variable)
    return values


def jwt_jwks_url() -> str:
    """Where a project that holds no public key fetches the signer's keys (JWKS)."""
    found: str = env.str("JWT_JWKS_URL", default="")
    return found


def dev_admin() -> tuple[str, str, str | None]:
    """(username, password, email) of the development admin; '' password: generate one."""
    return (
        env.str("DJANGO_SUPERUSER_USERNAME", default="admin"),
        env.str("DJANGO_SUPERUSER_PASSWORD", default=""),
        env.str("DJANGO_SUPERUSER_EMAIL", default=None),
    )


def dev_file(name: str, make: Callable[[], str]) -> str:
    """Return the content of var/secrets/NAME, creating it once, atomically.

    Several processes may start at once: the file is written aside and linked into
    place, so a reader sees either nothing or the whole value, and one value wins.
    """
    directory = var_dir() / "secrets"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / name
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text()


def secret(variable: str, *, dev_name: str, make: Callable[[], str] | None = None) -> str:
    """A secret from the environment; generated under var/ in development only."""
    value: str = env.str(variable, default="")
    if value:
        return value
    if not is_development():
        raise MissingSetting(variable)
    return dev_file(dev_name, make or (lambda: secrets.token_urlsafe(48)))


def pem_value(variable: str) -> str:
    """A PEM from VARIABLE or the file named by VARIABLE_FILE ('' when neither is set)."""
    value: str = env.str(variable, default="")
    if value:
        # One-line forms (.env files, CI secrets) carry the newlines as "\n".
        return value.replace("\\n", "\n")
    path = env.str(f"{variable}_FILE", default="")
    if path:
        try:
            return Path(path).read_text()
        except OSError as error:
            raise ImproperlyConfigured(f"{variable}_FILE={path}: {error.strerror}") from error
    return ""


def _new_rsa_private_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def jwt_private_key() -> str:
    """The signing key (user service only)."""
    value = pem_value("JWT_PRIVATE_KEY")
    if value:
        return value
    if not is_development():
        raise MissingSetting("JWT_PRIVATE_KEY", "or JWT_PRIVATE_KEY_FILE")
    return dev_file("jwt_private.pem", _new_rsa_private_pem)


def jwt_public_keys(*, signer: bool = False) -> str:
    """PEM public key(s) to verify with; several may be concatenated during a rotation.

    Empty when JWT_JWKS_URL is the source. The signer always also trusts its own key.
    """
    value = pem_value("JWT_PUBLIC_KEY")
    if value or jwt_jwks_url():
        return value
    if signer or is_development():
        from cryptography.hazmat.primitives import serialization

        private = serialization.load_pem_private_key(jwt_private_key().encode(), password=None)
        return (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
    raise MissingSetting("JWT_PUBLIC_KEY", "or JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL")


def service_urls() -> dict[str, str]:
    return {
        name: env.str(service.url_var, default=service.default_url).rstrip("/")
        for name, service in SERVICES.items()
        if name != "gateway"
    }


def database_for(service: str) -> dict[str, Any]:
    """DATABASES["default"] from <SERVICE>_DATABASE_URL, else SQLite under var/.

    SQLite is set up for concurrent writers: WAL lets readers run beside a writer,
    IMMEDIATE transactions take the write lock up front (so a transaction never fails
    upgrading a read lock), and the busy timeout makes writers queue instead of
    answering "database is locked".
    """
    variable = SERVICES[service].database_url_var
    url = env.str(variable, default="")
    if not url:
        directory = var_dir()
        directory.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{directory / f'{service}.sqlite3'}"
    config: dict[str, Any] = env.db_url_config(url)
    engine = config["ENGINE"]
    if engine.endswith("sqlite3"):
        config["ENGINE"] = "django_prometheus.db.backends.sqlite3"
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
        }
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    elif "postgresql" in engine:
        config["ENGINE"] = "django_prometheus.db.backends.postgresql"
        config.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
        )
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured(f"{variable}: only sqlite:// and postgres:// URLs are supported")
    return config


def cache_for(service: str) -> dict[str, Any]:
    """CACHES["default"]: django-redis on REDIS_URL, else local memory (one process)."""
    url = env.str("REDIS_URL", default="")
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": service}
    timeout = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
    return {
        "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="") or service,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # Short timeouts: a Redis that is gone must cost milliseconds, not a hang.
            "SOCKET_CONNECT_TIMEOUT": timeout,
            "SOCKET_TIMEOUT": timeout,
        },
    }
