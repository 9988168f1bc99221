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
from datetime import timedelta
from functools import cache
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from jwt.algorithms import RSAAlgorithm
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError

from common.identity.jwk import ALGORITHM, public_jwk
from common.settings.namespaces import common_settings, on_settings_change

logger = logging.getLogger(__name__)

JWKS_REFRESH_COOLDOWN = 60.0  # seconds between two fetches caused by unknown kids
JWKS_RETRY_SECONDS = 10.0  # after a failed fetch, the TTL's refetch waits this long


def _split_pems(pems: str) -> list[str]:
    marker = "-----END PUBLIC KEY-----"
    return [part.strip() + "\n" + marker for part in pems.split(marker) if part.strip()]


class KeyRing:
    """The public keys this process trusts, by kid: configured ones, and a JWKS's.

    The JWKS's keys are replaced by each fetch, so a key the signer removed stops being
    trusted within `ttl` seconds; an unknown kid fetches at once (a new key), at most once
    per JWKS_REFRESH_COOLDOWN, so forged kids cannot hammer the signer. While the JWKS
    cannot be fetched, its last keys stay trusted (verifying goes on) and the fetch is
    retried every JWKS_RETRY_SECONDS.
    """

    def __init__(self, pems: str = "", jwks_url: str = "", ttl: float = 300.0) -> None:
        self.jwks_url = jwks_url
        self.ttl = ttl
        self._pinned: dict[str, Any] = {}
        self._fetched: dict[str, Any] = {}
        self._jwks: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._fetched_at = float("-inf")  # last successful fetch
        self._tried_at = float("-inf")  # last fetch, failed or not
        for pem in _split_pems(pems):
            self._add(serialization.load_pem_public_key(pem.encode()))

    def _add(self, public_key: Any) -> str:
        jwk = public_jwk(public_key)
        self._pinned[jwk["kid"]] = public_key
        self._jwks[jwk["kid"]] = jwk
        return jwk["kid"]

    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self._jwks.values())}

    def key_for(self, kid: str | None) -> Any | None:
        if not isinstance(kid, str):
            return None
        fetched_now = bool(self.jwks_url) and self._stale()
        if fetched_now:
            self._refresh()
        key = self._pinned.get(kid) or self._fetched.get(kid)
        if key is None and self.jwks_url and not fetched_now and self._may_fetch_for_unknown():
            self._refresh(wait=True)
            key = self._fetched.get(kid)
        return key

    def _stale(self) -> bool:
        now = time.monotonic()
        return now - self._fetched_at >= self.ttl and now - self._tried_at >= JWKS_RETRY_SECONDS

    def _may_fetch_for_unknown(self) -> bool:
        return time.monotonic() - self._tried_at >= JWKS_REFRESH_COOLDOWN

    def _refresh(self, *, wait: bool = False) -> None:
        """Fetch the JWKS and trust exactly its RSA keys; on failure keep the last ones.

        One fetch at a time: a caller with an unknown kid waits for one under way (and
        uses its keys); a TTL refetch does not wait, the keys at hand serve meanwhile."""
        tried = self._tried_at
        if not self._lock.acquire(blocking=wait):
            return
        try:
            if self._tried_at != tried:
                return  # fetched while this caller waited
            self._tried_at = time.monotonic()
            response = requests.get(self.jwks_url, timeout=(1, 3))
            response.raise_for_status()
            fetched = {}
            for jwk in response.json().get("keys", []):
                if isinstance(jwk, dict) and jwk.get("kty") == "RSA":
                    key = RSAAlgorithm.from_jwk(json.dumps(jwk))
                    fetched[public_jwk(key)["kid"]] = key
            self._fetched = fetched
            self._fetched_at = time.monotonic()
        except (
            requests.RequestException,
            ValueError,
            AttributeError,
            jwt.InvalidKeyError,
        ) as error:
            logger.warning("JWKS fetch from %s failed: %s", self.jwks_url, error)
        finally:
            self._lock.release()


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
    common = common_settings
    ring = KeyRing(common.JWT_PUBLIC_KEYS, common.JWT_JWKS_URL, ttl=common.JWT_JWKS_TTL)
    return KidTokenBackend(ring, common.JWT_PRIVATE_KEY)


on_settings_change("COMMON", "JWT_ISSUER", "JWT_AUDIENCE", "SIMPLE_JWT")(token_backend.cache_clear)


# The latest `exp`/`iat` a datetime can hold (9999-12-31): simplejwt turns them into one.
_LAST_TIMESTAMP = 253_402_300_799


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_time(value: Any) -> bool:
    return _is_int(value) and 0 <= value <= _LAST_TIMESTAMP


# Claim → whether a value of it has the contract's type. A signed token with another
# type (`exp` a string or 1e12, `user_id` an object) is refused as invalid: 401, not a
# 500 deeper in (a datetime overflow, a database lookup by a dict).
CLAIM_TYPES: dict[str, Any] = {
    "exp": _is_time,
    "iat": _is_time,
    "iat_ms": lambda value: _is_int(value) and 0 <= value <= _LAST_TIMESTAMP * 1000,
    "user_id": lambda value: (_is_int(value) and value > 0) or (isinstance(value, str) and value),
    "username": lambda value: isinstance(value, str) and bool(value),
    "is_staff": lambda value: isinstance(value, bool),
    "is_superuser": lambda value: isinstance(value, bool),
    "jti": lambda value: isinstance(value, str),
    "cred": lambda value: isinstance(value, str),
    "cv": _is_int,
}


def check_claim_types(payload: dict[str, Any]) -> None:
    """Raise TokenError if a claim the platform reads has a value of another type."""
    for claim, valid in CLAIM_TYPES.items():
        if claim in payload and not valid(payload[claim]):
            raise TokenError(f"Token claim {claim!r} has the wrong type")
    if "exp" not in payload:
        raise TokenError("Token has no 'exp' claim")


class KidTokenMixin:
    """Makes a simplejwt token class sign and verify with the kid-aware backend, and
    refuse claims of the wrong type before simplejwt or a service reads them."""

    @property
    def token_backend(self) -> KidTokenBackend:
        return token_backend()

    def verify(self) -> None:
        check_claim_types(self.payload)  # type: ignore[attr-defined]
        super().verify()  # type: ignore[misc]


class AccessToken(KidTokenMixin, tokens.AccessToken):
    pass


# The cookie that carries an AdminSignOnToken from one admin to the others, and its path
# (common.identity.admin_mount sets it, common.identity.sso reads it).
SSO_COOKIE = "admin_sso"
SSO_COOKIE_PATH = "/admin/"


class AdminSignOnToken(KidTokenMixin, tokens.Token):
    """The admins' sign-on credential (the `admin_sso` cookie), not an API token.

    Its own type (`token_type` "admin_sso"): the API refuses it as an access token, and
    an access token is refused as one. Short-lived: it only opens other admins in the
    same browser for a few minutes after a password sign-in; each session it opens is
    then bound to its `jti` and the account's credential version (`cv`), re-checked at
    the user service (common.identity.sso).
    """

    token_type = "admin_sso"  # noqa: S105 -- a type name
    lifetime = timedelta(minutes=10)
