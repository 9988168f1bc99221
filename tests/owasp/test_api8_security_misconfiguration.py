"""API8:2023 Security Misconfiguration: no debug pages or tracebacks, hardening headers,
no cross-origin reads by default, and no start without secrets outside development."""

from __future__ import annotations

import os
import subprocess
import sys
from http import HTTPStatus

import pytest
import requests

from devtools.harness import REPO_ROOT

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", ["gateway", "users", "products", "orders"])
def test_errors_are_problems_without_debug_detail(api_client, service):
    answer = requests.get(f"{api_client.url(service)}/no/such/page", timeout=10)

    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "Traceback" not in answer.text
    assert "DEBUG" not in answer.text
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("service", ["gateway", "users", "products", "orders"])
def test_the_admin_cannot_be_framed(api_client, service):
    answer = requests.get(f"{api_client.url(service)}/admin/login/", timeout=10)

    assert answer.status_code == HTTPStatus.OK
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert f"{service}_csrftoken=" in answer.headers["Set-Cookie"]


def test_no_cross_origin_reads_unless_configured(api_client):
    answer = requests.get(
        f"{api_client.url()}/products", headers={"Origin": "https://evil.example"}, timeout=10
    )

    assert answer.status_code == HTTPStatus.OK
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_trace_is_not_allowed(api_client):
    answer = requests.request("TRACE", f"{api_client.url()}/products", timeout=10)

    assert answer.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECRET_KEY", "SERVICE_TOKEN", "JWT_", "APP_ENV"))
    }
    env.update(
        APP_ENV="production", VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="user_service.settings"
    )

    done = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    assert "is not set" in done.stderr
