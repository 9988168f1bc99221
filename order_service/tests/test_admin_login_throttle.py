"""A throttled admin login (common.identity.sso.AdminLoginThrottleBackend) answers 429 saying that
there were too many attempts and when to retry, without hashing or asking the user service."""

from __future__ import annotations

from http import HTTPStatus
from unittest import mock

import pytest
import responses
from django.test import Client

from common.identity.sso import AUTHENTICATE_PATH
from common.testing import clear_own_cache

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
