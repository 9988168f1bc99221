"""The user service's contract against real processes, and admin single sign-on across projects."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import jwt
import pytest

from devtools.harness import Stack, admin_login, http, json_call, superuser_create

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
ADMIN_PASSWORD = "an admin passphrase for e2e"


def call(stack: Stack, method: str, path: str, body: dict | None = None, token: str = ""):
    return json_call(method, f"{stack['users'].url}{path}", body, token=token)


def register_and_login(stack: Stack, username: str) -> dict:
    status, _, _ = call(
        stack, "POST", "/users/register", {"username": username, "password": PASSWORD}
    )
    assert status == HTTPStatus.CREATED
    status, _, tokens = call(
        stack, "POST", "/users/login", {"username": username, "password": PASSWORD}
    )
    assert status == HTTPStatus.OK
    return tokens


def test_user_contract_rows(stack):
    status, _, user = call(
        stack,
        "POST",
        "/users/register/",
        {"username": "e2e-alice", "password": PASSWORD, "email": "alice@e2e.example"},
    )
    assert status == HTTPStatus.CREATED
    assert set(user) == {"id", "username", "email", "first_name", "last_name", "date_joined"}

    status, _, problem = call(
        stack, "POST", "/users/login", {"username": "e2e-alice", "password": "wrong"}
    )
    assert (status, problem["status"]) == (HTTPStatus.UNAUTHORIZED, 401)

    status, _, tokens = call(
        stack, "POST", "/users/login", {"username": "e2e-alice", "password": PASSWORD}
    )
    assert status == HTTPStatus.OK
    status, _, profile = call(stack, "GET", "/users/profile", token=tokens["access"])
    assert (status, profile) == (HTTPStatus.OK, user)
    status, _, profile = call(
        stack, "PATCH", "/users/profile", {"first_name": "Alice"}, token=tokens["access"]
    )
    assert (status, profile) == (HTTPStatus.OK, {**user, "first_name": "Alice"})

    status, _, rotated = call(stack, "POST", "/users/token/refresh", {"refresh": tokens["refresh"]})
    assert status == HTTPStatus.OK
    status, _, _ = call(stack, "POST", "/users/token/refresh", {"refresh": tokens["refresh"]})
    assert status == HTTPStatus.UNAUTHORIZED

    status, _, _ = call(stack, "POST", "/users/logout", {"refresh": rotated["refresh"]})
    assert status == HTTPStatus.NO_CONTENT
    status, _, _ = call(stack, "POST", "/users/token/refresh", {"refresh": rotated["refresh"]})
    assert status == HTTPStatus.UNAUTHORIZED

    again = call(stack, "POST", "/users/login", {"username": "e2e-alice", "password": PASSWORD})[2]
    status, _, _ = call(
        stack,
        "POST",
        "/users/password",
        {"old_password": PASSWORD, "new_password": "another long passphrase"},
        token=again["access"],
    )
    assert status == HTTPStatus.NO_CONTENT
    status, _, _ = call(stack, "POST", "/users/token/refresh", {"refresh": again["refresh"]})
    assert status == HTTPStatus.UNAUTHORIZED

    status, headers, problem = call(stack, "GET", "/users/profile")
    assert status == HTTPStatus.UNAUTHORIZED
    assert headers["Content-Type"] == "application/problem+json"


def test_tokens_verify_offline_from_the_published_jwks(stack):
    """As a third party would: PyJWT and the JWKS URL, nothing of this project's code."""
    tokens = register_and_login(stack, "e2e-jwks")
    keys = jwt.PyJWKClient(f"{stack['users'].url}/users/.well-known/jwks.json")

    key = keys.get_signing_key_from_jwt(tokens["access"])
    claims = jwt.decode(tokens["access"], key, algorithms=["RS256"], audience="api", issuer="users")

    assert claims["username"] == "e2e-jwks"
    assert claims["token_type"] == "access"
    assert jwt.get_unverified_header(tokens["access"])["kid"] == key.key_id


def test_a_refresh_token_sent_many_times_at_once_works_once(stack):
    """Real concurrency: gunicorn workers and threads, one token, sixteen simultaneous calls."""
    tokens = register_and_login(stack, "e2e-race")
    callers = 16
    barrier = threading.Barrier(callers)
    body = json.dumps({"refresh": tokens["refresh"]}).encode()

    def one_call(_: int) -> int:
        barrier.wait()
        url = f"{stack['users'].url}/users/token/refresh"
        return http("POST", url, body=body, headers={"Content-Type": "application/json"})[0]

    with ThreadPoolExecutor(callers) as pool:
        statuses = sorted(pool.map(one_call, range(callers)))

    assert statuses == [HTTPStatus.OK] + [HTTPStatus.UNAUTHORIZED] * (callers - 1)


@pytest.fixture(scope="module")
def superuser(stack) -> str:
    """One `createsuperuser` at the user service: enough for every admin."""
    return superuser_create(stack, "e2e-root", ADMIN_PASSWORD)


@pytest.mark.parametrize("project", ["products", "orders", "gateway"])
def test_user_service_staff_log_into_every_admin(stack, superuser, project):
    session = admin_login(stack[project].url, superuser, ADMIN_PASSWORD)

    index = session.get(f"{stack[project].url}/admin/", timeout=10, allow_redirects=False)

    assert index.status_code == HTTPStatus.OK
    assert "Site administration" in index.text


@pytest.mark.parametrize("project", ["products", "orders", "gateway"])
def test_non_staff_and_wrong_passwords_are_refused_by_every_admin(stack, superuser, project):
    register_and_login(stack, f"e2e-plain-{project}")
    for username, password in ((f"e2e-plain-{project}", PASSWORD), (superuser, "wrong")):
        session = admin_login(stack[project].url, username, password)

        index = session.get(f"{stack[project].url}/admin/", timeout=10, allow_redirects=False)

        assert index.status_code == HTTPStatus.FOUND
        assert "/admin/login/" in index.headers["Location"]
