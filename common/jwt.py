"""RS256 tokens with a `kid`: one signer (the user service), offline verifiers everywhere.

simplejwt's TokenBackend signs with no extra headers and verifies with one key; this one
names its key in the header (`kid`, the RFC 7638 thumbprint) and verifies with the key the
header names, from PEMs in settings or a JWKS URL, so keys rotate by adding a `kid`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from functools import cache
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.signals import setting_changed
from jwt.algorithms import RSAAlgorithm
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError

from common.jwk import ALGORITHM, public_jwk

logger = logging.getLogger(__name__)

JWKS_REFRESH_COOLDOWN = 60.0  # seconds between two fetches caused by unknown kids


def _split_pems(pems: str) -> list[str]:
    marker = "-----END PUBLIC KEY-----"
    return [part.strip() + "\n" + marker for part in pems.split(marker) if part.strip()]


class KeyRing:
    """The public keys this process trusts, by kid; refreshed from JWKS on an unknown kid."""

    def __init__(self, pems: str = "", jwks_url: str = "") -> None:
        self.jwks_url = jwks_url
        self._keys: dict[str, Any] = {}
        self._jwks: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._last_fetch = float("-inf")
        for pem in _split_pems(pems):
            self._add(serialization.load_pem_public_key(pem.encode()))

    def _add(self, public_key: Any) -> str:
        jwk = public_jwk(public_key)
        self._keys[jwk["kid"]] = public_key
        self._jwks[jwk["kid"]] = jwk
        return jwk["kid"]

    def jwks(self) -> dict:
        return {"keys": list(self._jwks.values())}

    def key_for(self, kid: str | None) -> Any | None:
        if not isinstance(kid, str):
            return None
        key = self._keys.get(kid)
        if key is None and self.jwks_url:
            self._refresh()
            key = self._keys.get(kid)
        return key

    def _refresh(self) -> None:
        """Fetch the JWKS at most once per cool-down, so forged kids cannot hammer it."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_fetch < JWKS_REFRESH_COOLDOWN:
                return
            self._last_fetch = now
            try:
                response = requests.get(self.jwks_url, timeout=(1, 3))
                response.raise_for_status()
                for jwk in response.json().get("keys", []):
                    if jwk.get("kty") == "RSA":
                        self._add(RSAAlgorithm.from_jwk(json.dumps(jwk)))
            except (requests.RequestException, ValueError, jwt.InvalidKeyError) as error:
                logger.warning("JWKS fetch from %s failed: %s", self.jwks_url, error)


class KidTokenBackend(TokenBackend):
    """simplejwt's backend, RS256 only, choosing the verifying key by the header's kid."""

    def __init__(self, ring: KeyRing, signing_pem: str = "") -> None:
        super().__init__(
            ALGORITHM,
            signing_key=signing_pem or None,
            verifying_key="",
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=settings.SIMPLE_JWT.get("LEEWAY", 0),
        )
        self.ring = ring
        self.signing_kid = None
        if signing_pem:
            self.signing_kid = ring._add(self.prepared_signing_key.public_key())

    def get_verifying_key(self, token: Any) -> Any:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenBackendError("Invalid algorithm specified")
        key = self.ring.key_for(header.get("kid"))
        if key is None:
            raise TokenBackendError("Unknown signing key")
        return key

    def encode(self, payload: dict[str, Any]) -> str:
        if self.signing_kid is None:
            raise TokenBackendError("This service holds no signing key")
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(
            claims,
            self.prepared_signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self.signing_kid},
        )


@cache
def token_backend() -> KidTokenBackend:
    common = settings.COMMON
    ring = KeyRing(common.get("JWT_PUBLIC_KEYS", ""), common.get("JWT_JWKS_URL", ""))
    return KidTokenBackend(ring, common.get("JWT_PRIVATE_KEY", ""))


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("COMMON", "JWT_ISSUER", "JWT_AUDIENCE", "SIMPLE_JWT"):
        token_backend.cache_clear()


setting_changed.connect(_reset)


class KidTokenMixin:
    """Makes a simplejwt token class sign and verify with the kid-aware backend."""

    @property
    def token_backend(self) -> KidTokenBackend:
        return token_backend()


class AccessToken(KidTokenMixin, tokens.AccessToken):
    pass
