from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.settings import env as config


@pytest.fixture
def development(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def production(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    for name in (
        "SECRET_KEY",
        "SERVICE_TOKEN",
        "JWT_PRIVATE_KEY",
        "JWT_PRIVATE_KEY_FILE",
        "JWT_PUBLIC_KEY",
        "JWT_PUBLIC_KEY_FILE",
        "JWT_JWKS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_app_env_defaults_to_production(monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    assert config.app_env() == "production"


def test_unknown_app_env_is_refused(monkeypatch):
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(ImproperlyConfigured, match="APP_ENV must be one of"):
        config.app_env()


def test_development_generates_a_secret_once_and_keeps_it_private(development):
    first = config.secret("SERVICE_TOKEN", dev_name="service_token")
    second = config.secret("SERVICE_TOKEN", dev_name="service_token")
    assert first == second
    assert len(first) >= 40
    path = development / "secrets" / "service_token"
    assert path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_concurrent_first_starts_agree_on_one_secret(development):
    with ThreadPoolExecutor(max_workers=8) as pool:
        values = set(
            pool.map(
                lambda _: config.dev_file("shared", lambda: __import__("secrets").token_hex(16)),
                range(32),
            )
        )
    assert len(values) == 1


def test_environment_wins_over_generated_secret(development, monkeypatch):
    monkeypatch.setenv("SERVICE_TOKEN", "from-env")
    assert config.secret("SERVICE_TOKEN", dev_name="service_token") == "from-env"
    assert not (development / "secrets" / "service_token").exists()


@pytest.mark.parametrize(
    ("call", "variable"),
    [
        (lambda: config.secret("SECRET_KEY", dev_name="secret_key_x"), "SECRET_KEY"),
        (lambda: config.secret("SERVICE_TOKEN", dev_name="service_token"), "SERVICE_TOKEN"),
        (config.jwt_private_key, "JWT_PRIVATE_KEY"),
        (config.jwt_public_keys, "JWT_PUBLIC_KEY"),
    ],
)
def test_production_refuses_to_start_without_a_secret_and_names_it(production, call, variable):
    with pytest.raises(config.MissingSetting) as error:
        call()
    assert error.value.variable == variable
    assert str(error.value).startswith(f"{variable} is not set")
    assert not (production / "secrets").exists()


def test_pem_from_file_and_one_line_form(monkeypatch, tmp_path):
    pem = "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n"
    (tmp_path / "key.pem").write_text(pem)
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(tmp_path / "key.pem"))
    assert config.pem_value("JWT_PUBLIC_KEY") == pem
    monkeypatch.setenv("JWT_PUBLIC_KEY", pem.replace("\n", "\\n"))
    assert config.pem_value("JWT_PUBLIC_KEY") == pem


def test_missing_key_file_is_named(monkeypatch, tmp_path):
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(tmp_path / "absent.pem"))
    with pytest.raises(ImproperlyConfigured, match="JWT_PUBLIC_KEY_FILE="):
        config.pem_value("JWT_PUBLIC_KEY")


def test_development_verifiers_trust_the_generated_keys_public_half(development):
    public = config.jwt_public_keys()
    assert public.startswith("-----BEGIN PUBLIC KEY-----")
    assert (development / "secrets" / "jwt_private.pem").exists()


def test_sqlite_default_is_set_up_for_concurrent_writers(development, monkeypatch):
    monkeypatch.delenv("PRODUCTS_DATABASE_URL", raising=False)
    database = config.database_for("products")
    assert database["NAME"] == str(development / "products.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database["OPTIONS"]["timeout"] >= 5


def test_postgres_url_gets_pooling_and_a_connect_timeout(monkeypatch):
    monkeypatch.setenv("ORDERS_DATABASE_URL", "postgres://app:pw@db.internal:5432/orders")
    database = config.database_for("orders")
    assert database["ENGINE"] == "django_prometheus.db.backends.postgresql"
    assert (database["NAME"], database["USER"], database["HOST"], database["PORT"]) == (
        "orders",
        "app",
        "db.internal",
        5432,
    )
    assert database["OPTIONS"]["connect_timeout"] == 3
    assert database["CONN_HEALTH_CHECKS"] is True


def test_unsupported_database_url_is_refused(monkeypatch):
    monkeypatch.setenv("USERS_DATABASE_URL", "mysql://root@localhost/users")
    with pytest.raises(ImproperlyConfigured, match="USERS_DATABASE_URL"):
        config.database_for("users")


def test_cache_is_redis_with_short_timeouts_when_configured(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.delenv("CACHE_KEY_PREFIX", raising=False)
    cache = config.cache_for("users")
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/3"
    assert cache["KEY_PREFIX"] == "users"
    assert cache["OPTIONS"]["SOCKET_TIMEOUT"] <= 1


def test_cache_is_local_memory_without_redis(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert config.cache_for("users")["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_the_public_origin_is_the_gateways_local_url_in_development(development, monkeypatch):
    from common.settings.base import public_origin

    monkeypatch.delenv("PUBLIC_ORIGIN", raising=False)
    monkeypatch.delenv("GATEWAY_PORT", raising=False)
    assert public_origin() == "http://127.0.0.1:8000"
    monkeypatch.setenv("GATEWAY_PORT", "9100")
    assert public_origin() == "http://127.0.0.1:9100"
    monkeypatch.setenv("PUBLIC_ORIGIN", "https://shop.example.com")
    assert public_origin() == "https://shop.example.com"


def test_without_a_public_origin_production_links_are_relative(production, monkeypatch):
    """Never the client's Host: no default names a host in production."""
    from common.settings.base import public_origin

    monkeypatch.delenv("PUBLIC_ORIGIN", raising=False)
    assert public_origin() == ""
    monkeypatch.setenv("PUBLIC_ORIGIN", "https://api.example.com")
    assert public_origin() == "https://api.example.com"
