"""Admin logins at a service other than the user service (common.identity.sso): limited per client
IP before any password is checked, and an SSO session ends once the account is demoted."""

from __future__ import annotations

import json
from http import HTTPStatus
from unittest import mock

import pytest
import responses
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from common.identity.admin_mount import SSO_COOKIE
from common.identity.jwt import AdminSignOnToken
from common.identity.sso import AUTHENTICATE_PATH, SIGN_OUT_PATH, STATUS_PATH
from common.testing import access_token, clear_own_cache, sign_on_status, sign_on_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The login counters start empty (common.testing.reset_state), the cache too."""
    clear_own_cache()
    yield
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
    token = sign_on_token(user_id=9, username="ops", is_staff=True)
    responses.post(users_url(AUTHENTICATE_PATH), json={"sign_on": token})
    status = responses.get(
        users_url(STATUS_PATH),
        json=sign_on_status(),
    )
    client = Client()
    assert admin_login(client).status_code == HTTPStatus.FOUND
    assert client.get("/admin/").status_code == HTTPStatus.OK

    status.body = json.dumps(sign_on_status(is_staff=False))
    clear_own_cache()  # the re-check's cached verdict (SSO_RECHECK_SECONDS) has expired

    response = client.get("/admin/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")


@responses.activate
def test_an_sso_session_ends_when_the_account_is_gone_or_deactivated():
    token = sign_on_token(user_id=9, username="ops", is_staff=True)
    responses.post(users_url(AUTHENTICATE_PATH), json={"sign_on": token})
    responses.get(
        users_url(STATUS_PATH),
        json=sign_on_status(is_active=False),
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


def signed_in_by_password():
    """A browser signed in here by password; the user service's status answer, mocked."""
    token = sign_on_token(user_id=9, username="ops", is_staff=True, is_superuser=True)
    responses.post(users_url(AUTHENTICATE_PATH), json={"sign_on": token})
    status = responses.get(users_url(STATUS_PATH), json=sign_on_status(is_superuser=True))
    client = Client()
    assert admin_login(client).status_code == HTTPStatus.FOUND
    assert client.get("/admin/").status_code == HTTPStatus.OK
    return client, token, status


@responses.activate
def test_losing_is_superuser_at_the_user_service_reaches_this_admin():
    client, _token, status = signed_in_by_password()
    assert get_user_model().objects.get(username="ops").is_superuser

    status.body = json.dumps(sign_on_status(is_superuser=False))
    clear_own_cache()  # SSO_RECHECK_SECONDS later

    assert client.get("/admin/").status_code == HTTPStatus.OK  # still staff
    assert not get_user_model().objects.get(username="ops").is_superuser


@responses.activate
@pytest.mark.parametrize(
    "change",
    [{"credential_version": 1}, {"signed_out": True}, {"is_staff": False}],
    ids=["password or flags changed", "signed out at another admin", "demoted"],
)
def test_the_session_ends_within_the_recheck_interval(change):
    client, _token, status = signed_in_by_password()

    status.body = json.dumps(sign_on_status(is_superuser=True, **change))
    remembered = client.get("/admin/")  # the verdict is remembered SSO_RECHECK_SECONDS
    clear_own_cache()
    ended = client.get("/admin/")

    assert remembered.status_code == HTTPStatus.OK
    assert ended.status_code == HTTPStatus.FOUND
    assert ended["Location"].startswith("/admin/login/")
    # The check names the sign-on the session is bound to.
    assert f"sign_on={AdminSignOnToken(_token)['jti']}" in status.calls[-1].request.url


@responses.activate
def test_signing_out_here_spends_the_sign_on_at_the_user_service():
    client, token, _status = signed_in_by_password()
    spent = responses.post(users_url(SIGN_OUT_PATH), status=204)
    client.cookies[SSO_COOKIE] = token

    response = client.post("/admin/logout/")

    assert response.cookies[SSO_COOKIE].value == ""
    assert json.loads(spent.calls[0].request.body) == {
        "username": "ops",
        "sign_on": AdminSignOnToken(token)["jti"],
    }
    assert spent.calls[0].request.headers["X-Service-Token"] == settings.COMMON["SERVICE_TOKEN"]


def test_an_api_access_token_in_the_cookie_signs_in_nobody():
    browser = Client()
    browser.cookies[SSO_COOKIE] = access_token(user_id=9, username="ops", is_staff=True)

    response = browser.get("/admin/")

    assert response.status_code == HTTPStatus.FOUND
    assert response.cookies[SSO_COOKIE].value == ""
    assert not get_user_model().objects.filter(username="ops").exists()


@responses.activate
def test_a_session_from_before_sign_on_binding_ends():
    """An SSO-made user's session without a sign-on (made by an older release) ends."""
    user = get_user_model().objects.create(username="ops", is_staff=True, password="!x")
    client = Client()
    client.force_login(user, backend="common.identity.sso.UserServiceBackend")

    assert client.get("/admin/").status_code == HTTPStatus.FOUND
