"""Keys fetched from a JWKS URL live only as long as the JWKS names them."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from common.identity.jwt import KeyRing, public_jwk

URL = "http://users.invalid/users/.well-known/jwks.json"


class FakeJWKS:
    """Stands in for requests.get: serves the keys it currently holds, counts fetches."""

    def __init__(self, *keys) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down = False

    def __call__(self, url: str, timeout: object):
        import requests

        self.fetches += 1
        if self.down:
            raise requests.ConnectionError("refused")
        keys = [public_jwk(key.public_key()) for key in self.keys]

        class Answer:
            def raise_for_status(self) -> None:
                return None

            def json(self) -> dict:
                return {"keys": keys}

        return Answer()


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _kid(key) -> str:
    return public_jwk(key.public_key())["kid"]


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("common.identity.jwt.time.monotonic", lambda: now[0])
    return now


def test_a_key_gone_from_the_jwks_stops_being_trusted_after_the_ttl(monkeypatch, clock):
    old, new = _key(), _key()
    jwks = FakeJWKS(old)
    monkeypatch.setattr("common.identity.jwt.requests.get", jwks)
    ring = KeyRing(jwks_url=URL, ttl=300)
    assert ring.key_for(_kid(old)) is not None

    jwks.keys = [new]  # the signer rotated and revoked the old key
    clock[0] += 299
    assert ring.key_for(_kid(old)) is not None  # still within the TTL
    clock[0] += 2
    assert ring.key_for(_kid(old)) is None
    assert ring.key_for(_kid(new)) is not None
    assert jwks.fetches == 2


def test_an_unknown_kid_fetches_at_once_but_at_most_once_per_cooldown(monkeypatch, clock):
    first, second = _key(), _key()
    jwks = FakeJWKS(first)
    monkeypatch.setattr("common.identity.jwt.requests.get", jwks)
    ring = KeyRing(jwks_url=URL, ttl=300)
    ring.key_for(_kid(first))
    jwks.keys = [first, second]

    clock[0] += 61
    assert ring.key_for(_kid(second)) is not None  # a new key is picked up without waiting
    for n in range(20):
        assert ring.key_for(f"forged-{n}") is None
    assert jwks.fetches == 2


def test_jwks_unreachable_keeps_the_last_keys_and_retries_without_hammering(monkeypatch, clock):
    key = _key()
    jwks = FakeJWKS(key)
    monkeypatch.setattr("common.identity.jwt.requests.get", jwks)
    ring = KeyRing(jwks_url=URL, ttl=300)
    ring.key_for(_kid(key))

    jwks.down = True
    clock[0] += 301
    for _ in range(10):
        assert ring.key_for(_kid(key)) is not None
    assert jwks.fetches == 2
    clock[0] += 11
    ring.key_for(_kid(key))
    assert jwks.fetches == 3


def test_configured_pems_are_always_trusted(monkeypatch, clock):
    from cryptography.hazmat.primitives import serialization

    pinned = _key()
    pem = pinned.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setattr("common.identity.jwt.requests.get", FakeJWKS())
    ring = KeyRing(pem.decode(), jwks_url=URL, ttl=300)
    clock[0] += 1000
    assert ring.key_for(_kid(pinned)) is not None
