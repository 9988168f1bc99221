from http import HTTPStatus

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from common.testing import authorization
from user_service.accounts import services
from user_service.accounts.models import User
from user_service.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a different long passphrase"


def invalid_token(detail: str) -> dict:
    return {
        "type": "https://errors.example/invalid-token",
        "title": "Unauthorized",
        "status": 401,
        "detail": detail,
    }


SPENT = invalid_token("Token is blacklisted")
ACCOUNT_CHANGED = invalid_token("The account of this token is gone, inactive or changed.")


def refresh(api_client, token: str):
    return api_client.post("/users/token/refresh", {"refresh": token}, format="json")


def login(api_client, password: str = PASSWORD) -> dict:
    response = api_client.post(
        "/users/login", {"username": "alice", "password": password}, format="json"
    )
    assert response.status_code == HTTPStatus.OK
    return response.json()


def test_refresh_rotates_and_the_old_token_works_once(api_client, tokens):
    first = refresh(api_client, tokens["refresh"])
    again = refresh(api_client, tokens["refresh"])

    assert first.status_code == HTTPStatus.OK
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != tokens["refresh"]
    assert again.status_code == HTTPStatus.UNAUTHORIZED
    assert again.json() == SPENT
    assert refresh(api_client, first.json()["refresh"]).status_code == HTTPStatus.OK


def test_refreshed_access_token_carries_current_claims(api_client, tokens, alice):
    User.objects.filter(pk=alice.pk).update(is_staff=True)

    access = refresh(api_client, tokens["refresh"]).json()["access"]

    from common.identity.jwt import AccessToken

    assert AccessToken(access)["is_staff"] is True


def test_access_token_is_not_a_refresh_token(api_client, tokens):
    response = refresh(api_client, tokens["access"])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == invalid_token("Token has wrong type")


def test_refresh_of_a_deleted_user_is_401_not_500(api_client, tokens, alice):
    alice.delete()

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == ACCOUNT_CHANGED


def test_deactivated_user_cannot_refresh(api_client, tokens, alice):
    alice.is_active = False
    alice.save()

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == ACCOUNT_CHANGED


def test_user_deactivate_blacklists_every_refresh_token(api_client, tokens, alice):
    second = login(api_client)

    services.user_deactivate(user=alice)

    assert BlacklistedToken.objects.filter(token__user=alice).count() == 2
    assert refresh(api_client, second["refresh"]).status_code == HTTPStatus.UNAUTHORIZED


def test_logout_spends_the_refresh_token(api_client, tokens):
    response = api_client.post("/users/logout", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""
    assert refresh(api_client, tokens["refresh"]).json() == SPENT
    again = api_client.post("/users/logout", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == HTTPStatus.UNAUTHORIZED


def test_logout_with_garbage_is_401(api_client, db):
    response = api_client.post("/users/logout", {"refresh": "garbage"}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == invalid_token("Token is invalid")


def test_password_change_kills_every_refresh_token(api_client, tokens, alice):
    other_session = login(api_client)

    response = api_client.post(
        "/users/password",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
        headers=authorization(tokens["access"]),
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert refresh(api_client, tokens["refresh"]).status_code == HTTPStatus.UNAUTHORIZED
    assert refresh(api_client, other_session["refresh"]).status_code == HTTPStatus.UNAUTHORIZED
    assert (
        api_client.post(
            "/users/login", {"username": "alice", "password": PASSWORD}, format="json"
        ).status_code
        == HTTPStatus.UNAUTHORIZED
    )
    assert (
        refresh(api_client, login(api_client, NEW_PASSWORD)["refresh"]).status_code == HTTPStatus.OK
    )


def test_password_set_elsewhere_also_kills_refresh_tokens(api_client, tokens, alice):
    """The admin or `changepassword` do not go through services.py: the fingerprint holds."""
    alice.set_password(NEW_PASSWORD)
    alice.save()

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == ACCOUNT_CHANGED


def test_password_change_needs_the_old_password(api_client, tokens):
    response = api_client.post(
        "/users/password",
        {"old_password": "wrong", "new_password": NEW_PASSWORD},
        format="json",
        headers=authorization(tokens["access"]),
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["type"] == "https://errors.example/wrong-old-password"
    assert response.json()["errors"] == {"old_password": ["The old password is not correct."]}
    assert refresh(api_client, tokens["refresh"]).status_code == HTTPStatus.OK


def test_password_change_applies_the_validators(api_client, tokens):
    response = api_client.post(
        "/users/password",
        {"old_password": PASSWORD, "new_password": "alice"},
        format="json",
        headers=authorization(tokens["access"]),
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {
        "new_password": [
            "The password is too similar to the username.",
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
        ]
    }


def test_password_change_needs_a_token(api_client, db):
    response = api_client.post(
        "/users/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "type": "https://errors.example/not-authenticated",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
    }
