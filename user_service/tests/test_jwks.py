"""Other services verify these tokens offline: from a PEM, or from the published JWKS."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIRequestFactory

from common.identity.auth import StatelessJWTAuthentication
from common.identity.jwt import KeyRing, KidTokenBackend, public_jwk, token_backend
from common.testing import authorization

pytestmark = pytest.mark.django_db

JWKS_URL = "http://users.test/users/.well-known/jwks.json"


def public_pem(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_jwks_publishes_the_signing_key(api_client):
    response = api_client.get("/users/.well-known/jwks.json", headers={"Authorization": "Bearer x"})

    assert response.status_code == HTTPStatus.OK
    signing_key = token_backend().prepared_signing_key
    assert response.json() == {"keys": [public_jwk(signing_key.public_key())]}
    assert response.json()["keys"][0]["kid"] == token_backend().signing_kid
    assert response["Cache-Control"] == "public, max-age=300"


def test_rotation_old_key_still_verifies_and_is_published(api_client, alice, settings):
    """Rotate: the new private key signs, the old public key stays in JWT_PUBLIC_KEY."""
    old_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    old_pem = old_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    from user_service.accounts.tokens import access_token_for

    old_token = KidTokenBackend(KeyRing(), old_pem).encode(access_token_for(alice).payload)
    settings.COMMON = {**settings.COMMON, "JWT_PUBLIC_KEYS": public_pem(old_key)}

    kids = [key["kid"] for key in api_client.get("/users/.well-known/jwks.json").json()["keys"]]
    response = api_client.get("/users/profile", headers=authorization(old_token))

    assert kids == [public_jwk(old_key.public_key())["kid"], token_backend().signing_kid]
    assert response.status_code == HTTPStatus.OK


def test_stateless_authentication_accepts_issued_tokens_without_db_or_network(
    api_client, tokens, alice, django_assert_num_queries
):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    with responses.RequestsMock(), django_assert_num_queries(0):  # any HTTP call would fail
        user, _token = StatelessJWTAuthentication().authenticate(request)

    assert (user.id, user.username, user.is_staff, user.is_superuser) == (
        alice.id,
        "alice",
        False,
        False,
    )
    assert user.is_authenticated


def test_a_verifier_with_only_the_jwks_url_fetches_once_then_verifies_offline(api_client, tokens):
    jwks = api_client.get("/users/.well-known/jwks.json").json()
    verifier = KidTokenBackend(KeyRing(jwks_url=JWKS_URL))

    with responses.RequestsMock() as mocked:
        mocked.get(JWKS_URL, json=jwks)
        first = verifier.decode(tokens["access"])
        second = verifier.decode(tokens["access"])
        assert len(mocked.calls) == 1

    assert first == second
    assert first["username"] == "alice"
