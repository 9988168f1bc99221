from http import HTTPStatus

import jwt
import pytest
from django.test import Client

from common.identity.jwt import token_backend
from common.testing import CHECKED_ADMIN_PAGES, admin_page_statuses, authorization
from user_service.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

BAD_CREDENTIALS = {
    "type": "https://errors.example/bad-credentials",
    "title": "Unauthorized",
    "status": 401,
    "detail": "No active account found with the given credentials.",
}


def login(api_client, username: str, password: str = PASSWORD):
    return api_client.post(
        "/users/login", {"username": username, "password": password}, format="json"
    )


def test_login_answers_a_token_pair_with_the_contract_claims(api_client, settings):
    user = UserFactory(username="sam", is_staff=True)

    response = login(api_client, "sam")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"access", "refresh"}
    header = jwt.get_unverified_header(body["access"])
    assert header == {"alg": "RS256", "kid": token_backend().signing_kid, "typ": "JWT"}
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert set(claims) == {
        "user_id", "username", "is_staff", "is_superuser", "iss", "aud", "exp", "iat", "jti",
        "token_type", "cred", "iat_ms",
    }  # fmt: skip
    assert {k: claims[k] for k in ("user_id", "username", "is_staff", "is_superuser")} == {
        "user_id": user.id,
        "username": "sam",
        "is_staff": True,
        "is_superuser": False,
    }
    assert (claims["iss"], claims["aud"], claims["token_type"]) == ("users", "api", "access")
    assert claims["exp"] - claims["iat"] == 900
    refresh = jwt.decode(body["refresh"], options={"verify_signature": False})
    assert refresh["token_type"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == 86400
    user.refresh_from_db()
    assert user.last_login is not None


def test_login_token_opens_the_profile(api_client, tokens, alice):
    response = api_client.get("/users/profile", headers=authorization(tokens["access"]))
    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == alice.id


def test_wrong_password_and_unknown_user_get_the_same_answer(api_client, alice):
    wrong_password = login(api_client, "alice", "not the password")
    unknown_user = login(api_client, "nobody", "not the password")

    assert wrong_password.status_code == unknown_user.status_code == HTTPStatus.UNAUTHORIZED
    assert wrong_password.json() == unknown_user.json() == BAD_CREDENTIALS
    assert wrong_password["WWW-Authenticate"] == 'Bearer realm="api"'


def test_inactive_user_cannot_log_in(api_client):
    UserFactory(username="gone", is_active=False)

    response = login(api_client, "gone")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == BAD_CREDENTIALS


def test_stale_bearer_does_not_block_login(api_client, alice):
    response = api_client.post(
        "/users/login",
        {"username": "alice", "password": PASSWORD},
        format="json",
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status_code == HTTPStatus.OK


def test_login_is_throttled_per_username(api_client, alice, settings):
    settings.USERS_RATE_LOGIN = "3/min"
    UserFactory(username="bob")

    attempts = [login(api_client, "alice", "wrong").status_code for _ in range(3)]
    throttled = login(api_client, "alice")  # even with the right password

    assert attempts == [HTTPStatus.UNAUTHORIZED] * 3
    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert throttled.json()["type"] == "https://errors.example/throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert login(api_client, "ALICE").status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert login(api_client, "bob").status_code == HTTPStatus.OK


def test_admin_login_counts_against_the_same_limit(api_client, settings):
    settings.USERS_RATE_LOGIN = "2/min"
    UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()

    for _ in range(2):
        login(api_client, "root", "wrong")
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS  # the form, saying so
    assert "_auth_user_id" not in client.session


def test_admin_login_works_within_the_limit(settings):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()

    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})

    assert response.status_code == HTTPStatus.FOUND
    assert client.get("/admin/accounts/user/").status_code == HTTPStatus.OK


def test_admin_user_list_searches_and_filters(admin_client):
    UserFactory(username="zed", first_name="Zed")
    filters = {
        "q": "zed",
        "is_staff__exact": "0",
        "is_active__exact": "1",
        "date_joined__gte": "2000-01-01 00:00:00+00:00",
    }

    response = admin_client.get("/admin/accounts/user/", filters)

    assert response.status_code == HTTPStatus.OK
    assert [u.username for u in response.context["cl"].result_list] == ["zed"]


def test_a_user_admin_page_number_naming_no_page_is_404(admin_client):
    assert admin_page_statuses(admin_client, "/admin/accounts/user/") == CHECKED_ADMIN_PAGES
