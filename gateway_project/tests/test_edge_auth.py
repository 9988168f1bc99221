"""The gateway answers 401/403 itself: the service is never called for them."""

from __future__ import annotations

import json
from datetime import timedelta
from http import HTTPStatus

import pytest

from common.identity.auth import DOUBLED_BEARER
from common.testing import access_token, bearer


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/users/profile"),
        ("GET", "/orders"),
        ("POST", "/orders"),
        ("GET", "/orders/1"),
        ("POST", "/orders/1/cancel"),
        ("POST", "/products"),
        ("DELETE", "/products/1"),
    ],
)
def test_anonymous_caller_of_a_signed_in_route_gets_401_at_the_edge(
    api_client, upstreams, method, path
):
    response = api_client.generic(method, path, b"{}", "application/json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content) == {
        "type": "https://errors.example/not-authenticated",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
    }
    assert all(server.received == [] for server in upstreams.values())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/products"),
        ("PUT", "/products/1"),
        ("PATCH", "/products/1"),
        ("DELETE", "/products/1"),
    ],
)
def test_non_staff_caller_of_a_staff_method_gets_403_at_the_edge(
    api_client, upstreams, method, path
):
    response = api_client.generic(method, path, b"{}", "application/json", headers=bearer())

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert json.loads(response.content) == {
        "type": "https://errors.example/permission-denied",
        "title": "Forbidden",
        "status": 403,
        "detail": "This action is for staff only.",
    }
    assert upstreams["products"].received == []


def test_staff_caller_passes_and_the_authorization_header_goes_on(api_client, upstreams):
    headers = bearer(user_id=5, is_staff=True)

    response = api_client.post("/products", b"{}", content_type="application/json", headers=headers)

    assert response.status_code == HTTPStatus.OK
    assert upstreams["products"].received[0].headers["authorization"] == headers["Authorization"]


def _token_for_audience(audience: str) -> str:
    import jwt

    from common.settings.env import jwt_private_key

    token = access_token()
    header = jwt.get_unverified_header(token)
    claims = {**jwt.decode(token, options={"verify_signature": False}), "aud": audience}
    return jwt.encode(claims, jwt_private_key(), algorithm="RS256", headers={"kid": header["kid"]})


def test_a_token_pasted_with_its_bearer_prefix_is_told_so_at_the_edge(api_client, upstreams):
    token = access_token()
    response = api_client.get("/users/profile", headers={"Authorization": f"Bearer Bearer {token}"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content) == {
        "type": "https://errors.example/authentication-failed",
        "title": "Unauthorized",
        "status": 401,
        "detail": DOUBLED_BEARER,
    }
    assert upstreams["users"].received == []


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        access_token(lifetime=timedelta(seconds=-60)),
        _token_for_audience("other-api"),
        access_token(token_type="refresh"),
    ],
    ids=["garbage", "expired", "wrong-audience", "refresh-token"],
)
def test_invalid_token_is_401_even_on_a_public_route(api_client, upstreams, token):
    response = api_client.get("/products", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert json.loads(response.content)["type"] == "https://errors.example/authentication-failed"
    assert upstreams["products"].received == []


def test_token_signed_by_another_key_is_401(api_client, upstreams):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from common.identity.jwt import AccessToken, KeyRing, KidTokenBackend

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    token = AccessToken()
    token["user_id"] = 1
    forged = KidTokenBackend(KeyRing(), pem).encode(token.payload)

    response = api_client.get("/orders", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert upstreams["orders"].received == []


def test_a_token_differing_in_one_byte_is_not_served_from_the_verification_cache(
    api_client, upstreams
):
    token = access_token()
    assert (
        api_client.get("/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    header, claims, signature = token.split(".")
    tampered = (
        f"{header}.{claims}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    )

    response = api_client.get("/orders", headers={"Authorization": f"Bearer {tampered}"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
