"""The users admin under /admin/users/: its sign-in leaves the admins' sign-on credential
for the others, its sessions follow the account, and signing out anywhere signs out here."""

from __future__ import annotations

import re
import time
from http import HTTPStatus
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.exceptions import TokenError

from common.identity.admin_mount import SSO_COOKIE, SSO_COOKIE_PATH
from common.identity.jwt import AccessToken, AdminSignOnToken
from common.identity.sso import STATUS_PATH
from common.testing import authorization, clear_own_cache, sign_on_token
from user_service.accounts import services, tokens
from user_service.accounts.models import User
from user_service.accounts.tokens import access_token_for
from user_service.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PREFIX = "/admin/users/"


@pytest.fixture(autouse=True)
def _fresh_login_limits():
    clear_own_cache()
    yield
    clear_own_cache()


def sign_in(client: Client, username: str, password: str):
    form = client.get(f"{PREFIX}login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())
    return client.post(
        f"{PREFIX}login/?next={PREFIX}",
        {"csrfmiddlewaretoken": csrf.group(1), "username": username, "password": password},
    )


def staff_account(username: str = "ops", **flags) -> User:
    staff = UserFactory(username=username, is_staff=True, **flags)
    staff.set_password("pw-Secret-123")
    staff.save()
    return staff


def test_a_staff_sign_in_leaves_a_sign_on_credential_for_the_other_admins(client):
    staff = staff_account()

    response = sign_in(client, "ops", "pw-Secret-123")

    assert response.status_code == HTTPStatus.FOUND
    cookie = response.cookies[SSO_COOKIE]
    assert cookie["path"] == SSO_COOKIE_PATH
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    token = AdminSignOnToken(cookie.value)
    assert (token["user_id"], token["username"], token["is_staff"]) == (staff.pk, "ops", True)
    assert token["cv"] == staff.credential_version
    # Short-lived, and not an API token: the API refuses it.
    assert token["exp"] - time.time() <= 10 * 60
    with pytest.raises(TokenError):
        AccessToken(cookie.value)
    assert Client().get("/users/profile", headers=authorization(cookie.value)).status_code == 401


def test_an_api_access_token_is_no_sign_on_credential():
    staff = staff_account()
    browser = Client()
    browser.cookies[SSO_COOKIE] = str(access_token_for(staff))  # from POST /users/login

    response = browser.get(PREFIX)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(f"{PREFIX}login/")
    assert response.cookies[SSO_COOKIE].value == ""


def test_signing_out_drops_and_spends_the_credential(client):
    staff_account()
    issued = sign_in(client, "ops", "pw-Secret-123").cookies[SSO_COOKIE].value
    jti = AdminSignOnToken(issued)["jti"]

    response = client.post(f"{PREFIX}logout/")

    assert response.cookies[SSO_COOKIE].value == ""
    assert services.admin_sign_on_status(username="ops", jti=jti)["signed_out"] is True
    browser = Client()
    browser.cookies[SSO_COOKIE] = issued  # kept by someone: spent
    assert browser.get(PREFIX).status_code == HTTPStatus.FOUND


def test_the_cookie_opens_this_admin_only_for_the_account_it_names():
    staff = staff_account()
    issued = str(tokens.admin_sign_on_for(staff))
    browser = Client()
    browser.cookies[SSO_COOKIE] = issued
    impostor = Client()
    impostor.cookies[SSO_COOKIE] = sign_on_token(user_id=staff.pk, username="eve")

    assert browser.get(PREFIX).status_code == HTTPStatus.OK
    assert impostor.get(PREFIX).status_code == HTTPStatus.FOUND


@pytest.mark.parametrize(
    "change",
    [
        lambda user: user.set_password("another-Secret-456"),
        lambda user: setattr(user, "is_staff", False),
        lambda user: setattr(user, "is_active", False),
    ],
    ids=["password", "is_staff", "is_active"],
)
def test_the_credential_is_refused_once_the_account_changes(change):
    staff = staff_account()
    issued = str(tokens.admin_sign_on_for(staff))
    change(staff)
    staff.save()
    browser = Client()
    browser.cookies[SSO_COOKIE] = issued

    assert browser.get(PREFIX).status_code == HTTPStatus.FOUND


@pytest.mark.parametrize(
    "change",
    [
        lambda user: user.set_password("another-Secret-456"),
        lambda user: setattr(user, "is_superuser", False),
    ],
    ids=["password", "is_superuser"],
)
def test_a_session_here_ends_at_an_identity_change(client, change):
    staff_account(is_superuser=True)
    sign_in(client, "ops", "pw-Secret-123")
    assert client.get(PREFIX).status_code == HTTPStatus.OK

    user = User.objects.get(username="ops")
    change(user)
    user.save()

    assert client.get(PREFIX).status_code == HTTPStatus.FOUND


def test_signing_out_at_another_admin_ends_the_session_here(client):
    staff_account()
    issued = sign_in(client, "ops", "pw-Secret-123").cookies[SSO_COOKIE].value
    assert client.get(PREFIX).status_code == HTTPStatus.OK

    # What the products admin's logout sends (common.identity.sso.sign_out).
    spent = Client().post(
        "/internal/users/status/sign-out",
        {"username": "ops", "sign_on": AdminSignOnToken(issued)["jti"]},
        content_type="application/json",
        headers={"X-Service-Token": settings.COMMON["SERVICE_TOKEN"]},
    )

    assert spent.status_code == HTTPStatus.NO_CONTENT
    assert client.get(PREFIX).status_code == HTTPStatus.FOUND


def test_the_status_names_the_credential_version_and_the_sign_out(api_client):
    staff = staff_account()
    jti = AdminSignOnToken(str(tokens.admin_sign_on_for(staff)))["jti"]
    service = {"X-Service-Token": settings.COMMON["SERVICE_TOKEN"]}

    live = api_client.get(STATUS_PATH, {"username": "ops", "sign_on": jti}, headers=service)
    unknown = api_client.get(STATUS_PATH, {"username": "ops", "sign_on": "x"}, headers=service)
    anonymous = api_client.get(STATUS_PATH, {"username": "ops", "sign_on": jti})

    assert live.json() == {
        "username": "ops",
        "is_active": True,
        "is_staff": True,
        "is_superuser": False,
        "credential_version": staff.credential_version,
        "signed_out": False,
    }
    assert unknown.json()["signed_out"] is True
    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED
    assert anonymous["WWW-Authenticate"] == "X-Service-Token"


def test_admin_sessions_last_a_working_day_not_two_weeks(client):
    staff_account()

    response = sign_in(client, "ops", "pw-Secret-123")

    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert int(response.cookies["users_sessionid"]["max-age"]) == 8 * 3600


def test_a_throttled_admin_login_says_so_with_429_and_when_to_retry(client, settings):
    settings.COMMON = {**settings.COMMON, "ADMIN_RATE_LOGIN": "1/min"}
    UserFactory(username="ops", is_staff=True)
    wrong = sign_in(client, "ops", "not-the-password")

    with (
        mock.patch("django.contrib.auth.hashers.get_hasher") as get_hasher,
        mock.patch("django.contrib.auth.hashers.identify_hasher") as identify_hasher,
    ):
        throttled = sign_in(client, "ops", "not-the-password")

    assert wrong.status_code == HTTPStatus.OK
    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    page = throttled.content.decode()
    assert "Too many login attempts" in page
    assert "Please enter the correct username" not in page
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert f"Try again in {throttled['Retry-After']} seconds" in page
    assert get_hasher.call_count == identify_hasher.call_count == 0  # no hash computed


def test_the_per_username_login_limit_throttles_the_admin_form_too(client, settings):
    settings.USERS_RATE_LOGIN = "1/min"
    UserFactory(username="ops", is_staff=True)
    sign_in(client, "ops", "not-the-password")

    throttled = sign_in(client, "ops", "not-the-password")

    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many login attempts" in throttled.content.decode()
