"""Access tokens are bound to the password they were issued under and refused after a
password change, deactivation or logout (common.identity.revocation), at the user service too."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from common.testing import authorization
from user_service.accounts import services
from user_service.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much better passphrase 42"


def profile(api_client, access: str):
    return api_client.get("/users/profile", headers=authorization(access))


def test_an_access_token_stops_working_after_a_password_change(api_client, tokens, alice):
    alice.set_password(NEW_PASSWORD)  # the admin or `changepassword`: no revocation record
    alice.save()

    response = profile(api_client, tokens["access"])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["type"] == "https://errors.example/invalid-token"


def test_an_access_token_stops_working_after_deactivation(api_client, tokens, alice):
    services.user_deactivate(user=alice)

    assert profile(api_client, tokens["access"]).status_code == HTTPStatus.UNAUTHORIZED


def test_logout_revokes_the_users_access_tokens(api_client, tokens):
    assert profile(api_client, tokens["access"]).status_code == HTTPStatus.OK

    api_client.post("/users/logout", {"refresh": tokens["refresh"]}, format="json")

    assert profile(api_client, tokens["access"]).status_code == HTTPStatus.UNAUTHORIZED


def test_a_login_after_a_password_change_gets_a_working_token(api_client, tokens):
    api_client.post(
        "/users/password",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
        headers=authorization(tokens["access"]),
    )
    fresh = api_client.post(
        "/users/login", {"username": "alice", "password": NEW_PASSWORD}, format="json"
    ).json()

    assert profile(api_client, tokens["access"]).status_code == HTTPStatus.UNAUTHORIZED
    assert profile(api_client, fresh["access"]).status_code == HTTPStatus.OK


def test_an_expired_or_bad_token_does_not_block_refresh_or_logout(api_client, tokens):
    stale = {"Authorization": "Bearer not.a.token"}

    refreshed = api_client.post(
        "/users/token/refresh", {"refresh": tokens["refresh"]}, format="json", headers=stale
    )
    logout = api_client.post(
        "/users/logout", {"refresh": refreshed.json()["refresh"]}, format="json", headers=stale
    )

    assert refreshed.status_code == HTTPStatus.OK
    assert logout.status_code == HTTPStatus.NO_CONTENT
