from http import HTTPStatus

import pytest

from common.testing import authorization
from user_service.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def profile_of(user) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_get_own_profile(api_client, tokens, alice):
    response = api_client.get("/users/profile", headers=authorization(tokens["access"]))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == profile_of(alice)


def test_patch_changes_email_and_names_only(api_client, tokens, alice):
    response = api_client.patch(
        "/users/profile",
        {
            "email": "alice@EXAMPLE.org",
            "first_name": "Alice",
            "last_name": "Liddell",
            "username": "queen",
            "is_staff": True,
            "is_superuser": True,
        },
        format="json",
        headers=authorization(tokens["access"]),
    )

    alice.refresh_from_db()
    assert response.status_code == HTTPStatus.OK
    assert response.json() == profile_of(alice)
    assert (alice.username, alice.email, alice.first_name, alice.last_name) == (
        "alice",
        "alice@example.org",
        "Alice",
        "Liddell",
    )
    assert not alice.is_staff
    assert not alice.is_superuser


def test_patch_to_a_taken_email_is_a_409_conflict(api_client, tokens):
    UserFactory(username="bob", email="bob@example.com")

    response = api_client.patch(
        "/users/profile",
        {"email": "BOB@example.com"},
        format="json",
        headers=authorization(tokens["access"]),
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["errors"] == {"email": ["A user with that email already exists."]}


def test_patch_may_clear_the_email(api_client, tokens, alice):
    UserFactory(username="bob", email="")

    response = api_client.patch(
        "/users/profile", {"email": ""}, format="json", headers=authorization(tokens["access"])
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == ""


def test_profile_without_a_token_is_401(api_client, db):
    response = api_client.get("/users/profile")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["type"] == "https://errors.example/not-authenticated"


def test_profile_of_a_deactivated_user_is_401(api_client, tokens, alice):
    alice.is_active = False
    alice.save()

    response = api_client.get("/users/profile", headers=authorization(tokens["access"]))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "type": "https://errors.example/authentication-failed",
        "title": "Unauthorized",
        "status": 401,
        "detail": "User is inactive",
    }
