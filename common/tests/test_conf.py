"""The settings namespaces: defaults and checks in one place, parsed once, one reload hook."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from common.identity.service_client import client_for
from common.settings import server_env
from common.settings.env import REPO_ROOT, environment_of
from common.settings.namespaces import CommonSettings, Rate, common_settings


def test_defaults_come_from_the_namespace_when_no_variable_is_set(monkeypatch):
    monkeypatch.delenv("HTTP_READ_TIMEOUT", raising=False)
    monkeypatch.setenv("ADMIN_RATE_LOGIN", "3/15m")
    given = environment_of(CommonSettings)
    parsed = CommonSettings.from_mapping(given)
    assert "HTTP_READ_TIMEOUT" not in given
    assert parsed.HTTP_READ_TIMEOUT == 5.0
    rate = parsed.ADMIN_RATE_LOGIN
    assert rate == Rate(limit=3, window=900)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HTTP_READ_TIMEOUT", "soon", "HTTP_READ_TIMEOUT: expected a number, not 'soon'"),
        ("HTTP_CONNECT_TIMEOUT", "0", "HTTP_CONNECT_TIMEOUT: expected a number above 0"),
        ("ADMIN_RATE_LOGIN", "ten a minute", "ADMIN_RATE_LOGIN: not a rate: 'ten a minute'"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,ten", "TRUSTED_PROXIES: not an IP address or network"),
        ("GATEWAY_INTERNAL_URL", "gateway:8000", "GATEWAY_INTERNAL_URL: expected an http(s)"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        CommonSettings.from_mapping(environment_of(CommonSettings))


def test_a_setting_the_namespace_does_not_have_is_refused():
    with pytest.raises(ImproperlyConfigured, match="COMMON has no setting HTTP_TIMEOUT"):
        CommonSettings.from_mapping({"HTTP_TIMEOUT": 3})


def test_the_object_follows_overrides_and_the_reset_callbacks_see_the_new_values():
    before = common_settings.HTTP_READ_TIMEOUT
    assert client_for("products").timeout[1] == before
    with override_settings(COMMON={**settings.COMMON, "HTTP_READ_TIMEOUT": "2.5"}):
        assert common_settings.HTTP_READ_TIMEOUT == 2.5
        assert client_for("products").timeout[1] == 2.5  # rebuilt by its reset callback
    after = common_settings.HTTP_READ_TIMEOUT
    assert after == before
    assert client_for("products").timeout[1] == before


def test_the_old_threads_variable_still_works_with_one_warning(monkeypatch, capsys):
    monkeypatch.delenv("WEB_THREADS", raising=False)
    monkeypatch.setenv("GUNICORN_THREADS", "7")
    server_env.resolve_aliases()
    server_env.resolve_aliases()  # what the server does again after the entrypoint
    assert server_env.worker_threads() == 7
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 1
    assert "GUNICORN_THREADS is deprecated: set WEB_THREADS instead" in warnings[0]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WEB_THREADS", "many", "WEB_THREADS must be a whole number, not 'many'"),
        ("HTTP_READ_TIMEOUT", "soon", "HTTP_READ_TIMEOUT: expected a number, not 'soon'"),
    ],
)
def test_a_bad_value_stops_the_entrypoint_naming_its_variable(tmp_path, variable, value, message):
    environment = {"PATH": "/usr/bin:/bin", "APP_ENV": "development", "VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "common.runtime.entrypoint", "products"],
        cwd=REPO_ROOT,
        env={**environment, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"products: configuration error: {message}"
