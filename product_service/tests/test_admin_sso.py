"""Admin logins at a service other than the user service (common.sso): limited per client
IP before any password is checked, and an SSO session ends once the account is demoted."""

from __future__ import annotations

from http import HTTPStatus
from unittest import mock

import pytest
import responses
from django.conf import settings
from django.test import Client

from common.login_limits import limits_reset
from common.sso import AUTHENTICATE_PATH, STATUS_PATH
from common.testing import access_token, clear_own_cache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    limits_reset()
    clear_own_cache()
    yield
    limits_reset()
    clear_own_cache()


def users_url(path: str) -> str:
    return f"{settings.COMMON['SERVICE_URLS']['users']}{path}"


def admin_login(client: Client, ip: str = "203.0.113.5"):
    return client.post(
        "/admin/login/?next=/admin/", {"username": "ops", "password": "pw"}, REMOTE_ADDR=ip
    )


@responses.activate
def test_admin_logins_are_limited_per_client_ip_before_any_check(settings):
    settings.COMMON = {**settings.COMMON, "ADMIN_RATE_LOGIN": "3/min"}
    responses.post(users_url(AUTHENTICATE_PATH), status=401, json={})
    client = Client()

    answers = [admin_login(client).status_code for _ in range(5)]
    elsewhere = admin_login(client, ip="198.51.100.9")

    assert answers == [HTTPStatus.OK] * 3 + [HTTPStatus.TOO_MANY_REQUESTS] * 2
    # Only the first 3 reached the user service; the other address is counted apart.
    assert len(responses.calls) == 4
    assert elsewhere.status_code == HTTPStatus.OK


@responses.activate
def test_the_client_address_is_passed_to_the_user_service():
    responses.post(users_url(AUTHENTICATE_PATH), status=401, json={})

    admin_login(Client(), ip="203.0.113.77")

    assert responses.calls[0].request.headers["X-Forwarded-For"] == "203.0.113.77"


@responses.activate
def test_an_sso_session_ends_when_the_user_service_demotes_the_account():
    token = access_token(user_id=9, username="ops", is_staff=True)
    responses.post(users_url(AUTHENTICATE_PATH), json={"access": token})
    status = responses.get(
        users_url(STATUS_PATH),
        json={"username": "ops", "is_active": True, "is_staff": True, "is_superuser": False},
    )
    client = Client()
    assert admin_login(client).status_code == HTTPStatus.FOUND
    assert client.get("/admin/").status_code == HTTPStatus.OK

    status.body = (
        b'{"username": "ops", "is_active": true, "is_staff": false, "is_superuser": false}'
    )
    clear_own_cache()  # the re-check's cached verdict (SSO_RECHECK_SECONDS) has expired

    response = client.get("/admin/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")


@responses.activate
def test_an_sso_session_ends_when_the_account_is_gone_or_deactivated():
    token = access_token(user_id=9, username="ops", is_staff=True)
    responses.post(users_url(AUTHENTICATE_PATH), json={"access": token})
    responses.get(
        users_url(STATUS_PATH),
        json={"username": "ops", "is_active": False, "is_staff": True, "is_superuser": False},
    )
    client = Client()
    admin_login(client)

    assert client.get("/admin/").status_code == HTTPStatus.FOUND


@responses.activate
def test_a_throttled_admin_login_says_so_with_429_and_when_to_retry(settings):
    settings.COMMON = {**settings.COMMON, "ADMIN_RATE_LOGIN": "1/min"}
    responses.post(users_url(AUTHENTICATE_PATH), status=401, json={})
    client = Client()
    wrong = admin_login(client)

    with (
        mock.patch("django.contrib.auth.hashers.get_hasher") as get_hasher,
        mock.patch("django.contrib.auth.hashers.identify_hasher") as identify_hasher,
    ):
        throttled = admin_login(client)

    assert wrong.status_code == HTTPStatus.OK
    assert "Please enter the correct username" in wrong.content.decode()
    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    page = throttled.content.decode()
    assert "Too many login attempts" in page
    assert "Please enter the correct username" not in page
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert f"Try again in {throttled['Retry-After']} seconds" in page
    assert get_hasher.call_count == identify_hasher.call_count == 0  # no hash computed
    assert len(responses.calls) == 1  # nor the user service's
