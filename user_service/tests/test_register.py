from http import HTTPStatus

import pytest

from user_service.accounts.models import User
from user_service.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def validation_problem(detail: str, errors: dict) -> dict:
    return {
        "type": "https://errors.example/validation",
        "title": "Invalid input",
        "status": 400,
        "detail": detail,
        "errors": errors,
    }


def conflict_problem(detail: str, errors: dict) -> dict:
    """A name or address that is taken: the input is valid, the state conflicts."""
    return {
        **validation_problem(detail, errors),
        "type": "https://errors.example/conflict",
        "title": "Conflict",
        "status": 409,
    }


def test_register_answers_the_user_without_the_password(api_client):
    response = api_client.post(
        "/users/register",
        {"username": "carol", "password": PASSWORD, "email": "carol@example.com"},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    user = User.objects.get(username="carol")
    assert response.json() == {
        "id": user.id,
        "username": "carol",
        "email": "carol@example.com",
        "first_name": "",
        "last_name": "",
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    assert not user.is_superuser
    assert user.is_active


def test_register_with_trailing_slash_and_without_email(api_client):
    for name in ("dave", "erin"):
        response = api_client.post(
            "/users/register/", {"username": name, "password": PASSWORD}, format="json"
        )
        assert response.status_code == HTTPStatus.CREATED
        assert response.json()["email"] == ""
    assert User.objects.filter(email="").count() == 2


def test_password_is_hashed_with_argon2(api_client, settings):
    settings.PASSWORD_HASHERS = [
        "common.identity.hashers.OWASPArgon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    api_client.post("/users/register", {"username": "fay", "password": PASSWORD}, format="json")
    assert User.objects.get(username="fay").password.startswith(
        "argon2$argon2id$v=19$m=19456,t=2,p=1$"
    )


@pytest.mark.parametrize("username", ["alice", "ALICE"])
def test_duplicate_username_is_a_field_error(api_client, alice, username):
    response = api_client.post(
        "/users/register", {"username": username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response["Content-Type"] == PROBLEM
    message = "A user with that username already exists."
    assert response.json() == conflict_problem(f"username: {message}", {"username": [message]})


def test_duplicate_email_is_a_field_error_whatever_its_case(api_client, alice):
    response = api_client.post(
        "/users/register",
        {"username": "alice2", "password": PASSWORD, "email": "Alice@EXAMPLE.com"},
        format="json",
    )

    assert response.status_code == HTTPStatus.CONFLICT
    message = "A user with that email already exists."
    assert response.json() == conflict_problem(f"email: {message}", {"email": [message]})


def test_every_field_error_is_named_at_once_in_field_order(api_client, alice):
    response = api_client.post(
        "/users/register",
        {"username": "Alice", "password": "1234", "email": "alice@example.com"},
        format="json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    errors = {
        "username": ["A user with that username already exists."],
        "email": ["A user with that email already exists."],
        "password": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric.",
        ],
    }
    detail = "; ".join(f"{field}: {m}" for field, messages in errors.items() for m in messages)
    assert response.json() == validation_problem(detail, errors)


def test_a_registration_that_loses_the_race_is_a_non_field_error(api_client, alice, monkeypatch):
    """The checks passed, then the unique index refused the row (a concurrent twin)."""
    from user_service.accounts import services

    monkeypatch.setattr(services, "user_username_taken", lambda **kwargs: False)
    response = api_client.post(
        "/users/register", {"username": "ALICE", "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.CONFLICT
    message = "A user with that username or email already exists."
    assert response.json() == conflict_problem(message, {"non_field_errors": [message]})
    assert User.objects.count() == 1


def test_django_password_validators_apply(api_client):
    response = api_client.post(
        "/users/register", {"username": "gus", "password": "1234"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    messages = [
        "This password is too short. It must contain at least 8 characters.",
        "This password is too common.",
        "This password is entirely numeric.",
    ]
    assert response.json() == validation_problem(
        "; ".join(f"password: {m}" for m in messages), {"password": messages}
    )
    assert not User.objects.exists()


def test_password_similar_to_username_is_refused(api_client):
    response = api_client.post(
        "/users/register", {"username": "henrietta", "password": "henrietta1"}, format="json"
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {
        "password": ["The password is too similar to the username."]
    }


@pytest.mark.parametrize("field", ["is_staff", "is_superuser", "is_active", "id", "groups"])
def test_fields_a_client_must_not_set_are_refused(api_client, field):
    value = {"id": 999, "groups": [1]}.get(field, True)
    response = api_client.post(
        "/users/register",
        {"username": "mallory", "password": PASSWORD, field: value},
        format="json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    message = "This field cannot be set by a client."
    assert response.json() == validation_problem(f"{field}: {message}", {field: [message]})
    assert not User.objects.filter(username="mallory").exists()


def test_missing_fields_are_field_errors(api_client):
    response = api_client.post("/users/register", {}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_malformed_json_is_400(api_client):
    response = api_client.post(
        "/users/register", b'{"username": "x", ', content_type="application/json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "type": "https://errors.example/malformed-request",
        "title": "Bad Request",
        "status": 400,
        "detail": "JSON parse error - Expecting property name enclosed in double quotes: "
        "line 1 column 19 (char 18)",
    }


def test_json_that_is_not_an_object_is_400(api_client):
    response = api_client.post("/users/register", b'["alice"]', content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


def test_non_json_body_is_refused(api_client):
    response = api_client.post(
        "/users/register",
        b"username=x&password=y",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response["Content-Type"] == PROBLEM


def test_oversized_body_is_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'{"username": "x", "password": "' + b"p" * 2048 + b'"}'

    response = api_client.post("/users/register", body, content_type="application/json")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {
        "type": "https://errors.example/payload-too-large",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "The request body is larger than this service accepts.",
    }


def test_overlong_password_is_refused_before_hashing(api_client):
    response = api_client.post(
        "/users/register", {"username": "ivan", "password": "p" * 1025}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {
        "password": ["Ensure this field has no more than 1024 characters."]
    }


def test_factory_users_are_distinct():
    first, second = UserFactory(), UserFactory()
    assert first.username != second.username
