"""The users admin under /admin/users/: its sign-in leaves the SSO cookie for the others."""

from __future__ import annotations

import re
from http import HTTPStatus
from unittest import mock

import pytest
from django.test import Client

from common.admin_mount import SSO_COOKIE, SSO_COOKIE_PATH
from common.jwt import AccessToken
from common.testing import access_token, clear_own_cache
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


def test_a_staff_sign_in_leaves_a_token_for_the_other_admins(client):
    staff = UserFactory(username="ops", is_staff=True)
    staff.set_password("pw-Secret-123")
    staff.save()

    response = sign_in(client, "ops", "pw-Secret-123")

    assert response.status_code == HTTPStatus.FOUND
    cookie = response.cookies[SSO_COOKIE]
    assert cookie["path"] == SSO_COOKIE_PATH
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    token = AccessToken(cookie.value)
    assert (token["user_id"], token["username"], token["is_staff"]) == (staff.pk, "ops", True)


def test_signing_out_drops_the_token(client):
    staff = UserFactory(username="ops", is_staff=True)
    staff.set_password("pw-Secret-123")
    staff.save()
    sign_in(client, "ops", "pw-Secret-123")

    response = client.post(f"{PREFIX}logout/")

    assert response.cookies[SSO_COOKIE].value == ""


def test_the_cookie_opens_this_admin_only_for_the_account_it_names():
    staff = UserFactory(username="ops", is_staff=True)
    browser = Client()
    browser.cookies[SSO_COOKIE] = access_token(user_id=staff.pk, username="ops", is_staff=True)
    impostor = Client()
    impostor.cookies[SSO_COOKIE] = access_token(user_id=staff.pk, username="eve", is_staff=True)

    assert browser.get(PREFIX).status_code == HTTPStatus.OK
    assert impostor.get(PREFIX).status_code == HTTPStatus.FOUND


def test_an_account_no_longer_staff_here_is_not_let_in_by_an_older_token():
    former = UserFactory(username="ops", is_staff=False)
    browser = Client()
    browser.cookies[SSO_COOKIE] = access_token(user_id=former.pk, username="ops", is_staff=True)

    assert browser.get(PREFIX).status_code == HTTPStatus.FOUND


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
