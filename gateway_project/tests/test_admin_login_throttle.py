"""The gateway's admin sign-in: a throttled login (common.identity.sso.AdminLoginThrottleBackend)
answers 429 saying that there were too many attempts and when to retry, without hashing or
asking the user service; an SSO session is re-checked on the dashboard too."""

from __future__ import annotations

import json
from http import HTTPStatus
from unittest import mock

import pytest
import responses
from django.test import Client

from common.identity.sso import AUTHENTICATE_PATH, STATUS_PATH
from common.testing import clear_own_cache, sign_on_status, sign_on_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The login counters start empty (common.testing.reset_state), the cache too."""
    clear_own_cache()
    yield
    clear_own_cache()


@responses.activate
def test_a_throttled_admin_login_answers_429_with_when_to_retry(settings):
    settings.COMMON = {**settings.COMMON, "ADMIN_RATE_LOGIN": "1/min"}
    users = f"{settings.COMMON['SERVICE_URLS']['users']}{AUTHENTICATE_PATH}"
    responses.post(users, status=401, json={})
    client = Client()
    form = {"username": "ops", "password": "pw"}
    wrong = client.post("/admin/login/?next=/admin/", form)

    with (
        mock.patch("django.contrib.auth.hashers.get_hasher") as get_hasher,
        mock.patch("django.contrib.auth.hashers.identify_hasher") as identify_hasher,
    ):
        throttled = client.post("/admin/login/?next=/admin/", form)

    assert wrong.status_code == HTTPStatus.OK
    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert throttled["Content-Type"].startswith("text/html")
    page = throttled.content.decode()
    assert "Too many login attempts" in page
    assert f"Try again in {throttled['Retry-After']} seconds" in page
    assert "Please enter the correct username" not in page
    assert get_hasher.call_count == identify_hasher.call_count == 0
    assert len(responses.calls) == 1


@responses.activate
def test_a_dashboard_session_ends_when_the_user_service_demotes_the_account(settings):
    """The re-check runs on every page a session opens, not only under /admin/."""
    users = settings.COMMON["SERVICE_URLS"]["users"]
    responses.post(f"{users}{AUTHENTICATE_PATH}", json={"sign_on": sign_on_token()})
    status = responses.get(f"{users}{STATUS_PATH}", json=sign_on_status())
    client = Client()
    client.post("/admin/login/?next=/admin/", {"username": "ops", "password": "pw"})
    assert client.get("/dashboard").status_code == HTTPStatus.OK

    status.body = json.dumps(sign_on_status(is_staff=False))
    clear_own_cache()  # SSO_RECHECK_SECONDS later

    assert client.get("/dashboard").status_code == HTTPStatus.FOUND
