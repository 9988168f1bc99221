"""common.identity.sso.UserServiceBackend with the user service's answer mocked (the live
test is e2e)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import responses
from django.conf import settings

from common.identity.jwt import AdminSignOnToken
from common.identity.sso import AUTHENTICATE_PATH, UserServiceBackend
from common.testing import access_token, sign_on_token
from user_service.accounts.models import User
from user_service.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def url() -> str:
    return f"{settings.COMMON['SERVICE_URLS']['users']}{AUTHENTICATE_PATH}"


@pytest.fixture(autouse=True)
def _as_another_admin(settings):
    """The backend as the other projects run it: no accounts of its own."""
    settings.ADMIN_SSO_ACCOUNTS = ""


def remote(**fields) -> str:
    """The sign-on credential the user service would answer for an account it holds."""
    return sign_on_token(user_id=4242, **{"is_staff": False, **fields})


@responses.activate
def test_staff_account_gets_a_local_staff_user_without_a_local_password(url):
    responses.post(url, json={"sign_on": remote(username="ops", is_staff=True)})

    user = UserServiceBackend().authenticate(None, username="ops", password="pw")

    assert (user.username, user.is_staff, user.is_superuser) == ("ops", True, False)
    assert not user.has_usable_password()
    assert responses.calls[0].request.headers["X-Service-Token"] == settings.COMMON["SERVICE_TOKEN"]


@responses.activate
def test_flags_follow_the_claims(url):
    local = UserFactory(username="ops", is_staff=True, is_superuser=False)
    responses.post(url, json={"sign_on": remote(username="ops", is_staff=True, is_superuser=True)})

    user = UserServiceBackend().authenticate(None, username="ops", password="pw")

    assert user.pk == local.pk
    assert user.is_superuser


@responses.activate
def test_non_staff_is_refused_and_an_sso_made_user_loses_staff(url):
    made_by_sso = UserFactory(username="ops", is_staff=True, password="")
    User.objects.filter(pk=made_by_sso.pk).update(password="!unusable")
    responses.post(url, json={"sign_on": remote(username="ops", is_staff=False)})

    assert UserServiceBackend().authenticate(None, username="ops", password="pw") is None
    made_by_sso.refresh_from_db()
    assert not made_by_sso.is_staff


@responses.activate
def test_a_local_account_with_its_own_password_is_not_demoted(url):
    local = UserFactory(username="admin", is_staff=True, is_superuser=True)
    responses.post(url, json={"sign_on": remote(username="admin", is_staff=False)})

    assert UserServiceBackend().authenticate(None, username="admin", password="pw") is None
    local.refresh_from_db()
    assert local.is_superuser


@responses.activate
@pytest.mark.parametrize(
    "answer",
    [
        {"status": 401, "json": {"status": 401}},
        {"status": 200, "json": {"sign_on": "forged.token.value"}},
        {"status": 200, "json": {"sign_on": access_token(username="ops", is_staff=True)}},
        {"status": 200, "body": b"not json"},
        {"status": 503, "json": {"status": 503}},
    ],
    ids=["refused", "unverifiable token", "an API access token", "not json", "unavailable"],
)
def test_anything_but_a_verified_staff_token_is_no_login(url, answer):
    responses.post(url, **answer)

    assert UserServiceBackend().authenticate(None, username="ops", password="pw") is None
    assert not User.objects.filter(username="ops").exists()


@responses.activate
def test_a_token_for_another_username_is_no_login(url):
    responses.post(url, json={"sign_on": remote(username="someone-else", is_staff=True)})

    assert UserServiceBackend().authenticate(None, username="ops", password="pw") is None


def test_user_service_down_is_no_login_not_an_error(settings):
    settings.COMMON = {**settings.COMMON, "SERVICE_URLS": {"users": "http://127.0.0.1:9"}}

    assert UserServiceBackend().authenticate(None, username="ops", password="pw") is None


def test_internal_authenticate_needs_the_service_token(api_client, alice):
    body = {"username": "alice", "password": "correct horse battery staple"}

    without = api_client.post("/internal/users/authenticate", body, format="json")
    with_token = api_client.post(
        "/internal/users/authenticate",
        body,
        format="json",
        headers={"X-Service-Token": settings.COMMON["SERVICE_TOKEN"]},
    )

    assert without.status_code == HTTPStatus.UNAUTHORIZED
    assert without["WWW-Authenticate"] == "X-Service-Token"
    assert with_token.status_code == HTTPStatus.OK
    assert set(with_token.json()) == {"sign_on"}
    AdminSignOnToken(with_token.json()["sign_on"])  # verifies: its own type
