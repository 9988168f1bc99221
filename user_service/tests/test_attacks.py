"""Every forged, stale or misused token is a 401 problem, on the DB-backed and stateless paths."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from http import HTTPStatus

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from common.identity.auth import StatelessJWTAuthentication
from common.identity.jwt import token_backend
from common.testing import authorization
from user_service.accounts.tokens import access_token_for

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def valid_claims(user) -> dict:
    return jwt.decode(str(access_token_for(user)), options={"verify_signature": False})


def other_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def expired(user) -> str:
    token = access_token_for(user)
    token.set_exp(lifetime=-timedelta(minutes=5))
    return str(token)


def tampered(user) -> str:
    header, _payload, signature = str(access_token_for(user)).split(".")
    claims = {**valid_claims(user), "is_staff": True, "is_superuser": True}
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def wrong_signature(user) -> str:
    """Signed by another key that claims our kid."""
    headers = {"kid": token_backend().signing_kid}
    return jwt.encode(valid_claims(user), other_private_key(), algorithm="RS256", headers=headers)


def alg_none(user) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": token_backend().signing_kid}
    return unsigned(header, valid_claims(user)) + "."


def hs256_with_public_key(user) -> str:
    """The classic confusion: HMAC keyed with the public PEM the verifier trusts."""
    public_pem = (
        token_backend()
        .prepared_signing_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": token_backend().signing_kid}
    signing_input = unsigned(header, valid_claims(user))
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def refresh_as_access(user) -> str:
    from user_service.accounts.tokens import refresh_token_for

    return str(refresh_token_for(user))


def unknown_kid(user) -> str:
    return jwt.encode(
        valid_claims(user), other_private_key(), algorithm="RS256", headers={"kid": "unknown"}
    )


def wrong_audience(user) -> str:
    claims = {**valid_claims(user), "aud": "elsewhere"}
    key = token_backend().prepared_signing_key
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": token_backend().signing_kid})


def wrong_issuer(user) -> str:
    claims = {**valid_claims(user), "iss": "someone-else"}
    key = token_backend().prepared_signing_key
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": token_backend().signing_kid})


FORGERIES = {
    "expired": (expired, "Token is expired"),
    "tampered payload": (tampered, "Token is invalid"),
    "wrong signature": (wrong_signature, "Token is invalid"),
    "alg none": (alg_none, "Token is invalid"),
    "HS256 keyed with the public key": (hs256_with_public_key, "Token is invalid"),
    "refresh token as access token": (refresh_as_access, "Token has wrong type"),
    "unknown kid": (unknown_kid, "Token is invalid"),
    "wrong audience": (wrong_audience, "Token is invalid"),
    "wrong issuer": (wrong_issuer, "Token is invalid"),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_or_misused_token_is_401_problem(api_client, alice, forge):
    make, detail = forge

    response = api_client.get("/users/profile", headers=authorization(make(alice)))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://errors.example/authentication-failed",
        "title": "Unauthorized",
        "status": 401,
        "detail": detail,
    }


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_stateless_authentication_refuses_the_same_tokens(alice, forge, django_assert_num_queries):
    make, detail = forge
    token = make(alice)
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")

    with django_assert_num_queries(0), pytest.raises(AuthenticationFailed) as caught:
        StatelessJWTAuthentication().authenticate(request)

    assert caught.value.detail["detail"] == detail


def test_blacklisted_refresh_token_is_401_problem(api_client, tokens):
    api_client.post("/users/logout", {"refresh": tokens["refresh"]}, format="json")

    response = api_client.post(
        "/users/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://errors.example/invalid-token",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Token is blacklisted",
    }


@pytest.mark.parametrize(
    "forge", [FORGERIES["wrong signature"], FORGERIES["alg none"], FORGERIES["unknown kid"]]
)
def test_forged_refresh_token_is_401_problem(api_client, alice, forge):
    make, _detail = forge
    claims = {**valid_claims(alice), "token_type": "refresh"}
    forged = make(alice).split(".")
    forged[1] = b64(json.dumps(claims).encode())

    response = api_client.post("/users/token/refresh", {"refresh": ".".join(forged)}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["type"] == "https://errors.example/invalid-token"


def test_settings_issuer_and_audience_are_the_contract_defaults():
    assert (settings.JWT_ISSUER, settings.JWT_AUDIENCE) == ("users", "api")
