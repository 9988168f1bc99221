"""Stateless JWT verification: valid tokens in, every forgery and misuse out (401 JSON)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from http import HTTPStatus

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.identity.auth import DOUBLED_BEARER
from common.identity.jwt import KeyRing, public_jwk
from common.settings.env import jwt_private_key, jwt_public_keys
from common.testing import access_token, bearer

pytestmark = pytest.mark.django_db


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**overrides):
    header, payload, _ = access_token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(overrides)
    return claims, json.loads(base64.urlsafe_b64decode(header + "=="))


def _problem(response):
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    return response.json()


def test_a_valid_token_authenticates_from_claims_alone(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/whoami", headers=bearer(user_id=42, username="alice"))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"id": 42, "username": "alice", "is_staff": False}
    assert len(queries) == 0


def test_the_token_names_its_key(client):
    header = jwt.get_unverified_header(access_token())
    public = serialization.load_pem_public_key(jwt_public_keys().encode())
    assert header == {"alg": "RS256", "typ": "JWT", "kid": public_jwk(public)["kid"]}


def test_no_token_is_401_json(client):
    body = _problem(client.get("/whoami"))
    assert body["type"] == "https://errors.example/not-authenticated"


def test_expired_token_is_401(client):
    body = _problem(client.get("/whoami", headers=bearer(lifetime=timedelta(seconds=-60))))
    assert body["detail"] == "Token is expired"


def test_tampered_payload_is_401(client):
    header, _, signature = access_token(is_staff=False).split(".")
    claims, _ = _claims(is_staff=True)
    forged = f"{header}.{_b64(claims)}.{signature}"
    assert _problem(client.get("/whoami", headers={"Authorization": f"Bearer {forged}"}))


def test_wrong_signature_is_401(client):
    claims, header = _claims()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": header["kid"]})
    assert _problem(client.get("/whoami", headers={"Authorization": f"Bearer {forged}"}))


def test_alg_none_is_401(client):
    claims, header = _claims()
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': header['kid']})}.{_b64(claims)}."
    assert _problem(client.get("/whoami", headers={"Authorization": f"Bearer {forged}"}))


def test_hs256_signed_with_the_public_key_is_401(client):
    claims, header = _claims()
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': header['kid']})}.{_b64(claims)}"
    secret = jwt_public_keys().encode()
    signature = (
        base64.urlsafe_b64encode(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )
    forged = f"{signing_input}.{signature}"
    assert _problem(client.get("/whoami", headers={"Authorization": f"Bearer {forged}"}))


def test_refresh_token_used_as_access_is_401(client):
    token = access_token(token_type="refresh")
    body = _problem(client.get("/whoami", headers={"Authorization": f"Bearer {token}"}))
    assert body["detail"] == "Token has wrong type"


def test_unknown_kid_is_401(client):
    claims, _ = _claims()
    key = serialization.load_pem_private_key(jwt_private_key().encode(), password=None)
    forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "not-a-known-kid"})
    body = _problem(client.get("/whoami", headers={"Authorization": f"Bearer {forged}"}))
    assert body["detail"] == "Token is invalid"


@pytest.mark.parametrize(("claim", "value"), [("iss", "someone-else"), ("aud", "other-api")])
def test_wrong_issuer_or_audience_is_401(client, claim, value):
    claims, header = _claims(**{claim: value})
    key = serialization.load_pem_private_key(jwt_private_key().encode(), password=None)
    forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"]})
    assert _problem(client.get("/whoami", headers={"Authorization": f"Bearer {forged}"}))


def test_garbage_token_is_401(client):
    assert _problem(client.get("/whoami", headers={"Authorization": "Bearer not.a.jwt"}))


def test_a_doubled_bearer_is_told_to_paste_the_bare_token(client):
    token = access_token()
    body = _problem(client.get("/whoami", headers={"Authorization": f"Bearer Bearer {token}"}))
    assert body == {
        "type": "https://errors.example/authentication-failed",
        "title": "Unauthorized",
        "status": 401,
        "detail": DOUBLED_BEARER,
    }
    assert "paste the access token alone" in body["detail"]


def test_staff_permission_reads_the_claim(client):
    assert client.get("/staff", headers=bearer(is_staff=False)).status_code == HTTPStatus.FORBIDDEN
    assert client.get("/staff", headers=bearer(is_staff=True)).status_code == HTTPStatus.OK


def test_key_ring_trusts_several_pems_during_a_rotation():
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]
    pems = "".join(
        k.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        for k in keys
    )
    ring = KeyRing(pems)
    kids = [public_jwk(k.public_key())["kid"] for k in keys]
    assert all(ring.key_for(kid) is not None for kid in kids)
    assert [k["kid"] for k in ring.jwks()["keys"]] == kids


def test_key_ring_refreshes_jwks_at_most_once_per_cooldown(monkeypatch):
    calls = []

    class Answer:
        def raise_for_status(self):
            return None

        def json(self):
            return {"keys": []}

    def fake_get(url, timeout):
        calls.append(url)
        return Answer()

    monkeypatch.setattr("common.identity.jwt.requests.get", fake_get)
    ring = KeyRing(jwks_url="http://users.invalid/users/.well-known/jwks.json")
    for n in range(20):
        assert ring.key_for(f"forged-{n}") is None
    assert calls == ["http://users.invalid/users/.well-known/jwks.json"]
