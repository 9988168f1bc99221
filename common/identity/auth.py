"""Authentication and permissions every service uses: stateless JWT, service token."""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import (
    AUTH_HEADER_TYPE_BYTES,
    JWTStatelessUserAuthentication,
)
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from common.identity.jwt import AccessToken
from common.identity.service_callers import callers_for
from common.settings.namespaces import common_settings, on_settings_change, on_test_reset
from common.topology import SERVICES

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass

SERVICE_TOKEN_HEADER = "X-Service-Token"  # noqa: S105 -- a header name
# Who calls with an API key, as the gateway tells a service (beside its own service
# token); the gateway drops these from what clients send.
CONSUMER_ID_HEADER = "X-Consumer-Id"
CONSUMER_NAME_HEADER = "X-Consumer-Name"
CONSUMER_OWNER_HEADER = "X-Consumer-Owner"
CONSUMER_SCOPES_HEADER = "X-Consumer-Scopes"
CONSUMER_HEADERS = (
    CONSUMER_ID_HEADER,
    CONSUMER_NAME_HEADER,
    CONSUMER_OWNER_HEADER,
    CONSUMER_SCOPES_HEADER,
)
DOUBLED_BEARER = (
    "The Authorization header says `Bearer` twice. In Swagger UI's Authorize dialog paste "
    "the access token alone: Swagger UI adds `Bearer ` itself."
)


class StatelessJWTAuthentication(JWTStatelessUserAuthentication):
    """Verifies the access token offline and builds the user from its claims: no DB, no I/O."""

    www_authenticate_realm = "api"

    def get_raw_token(self, header: bytes) -> bytes | None:
        """simplejwt's, but `Bearer Bearer <token>` (a token pasted with its prefix where
        the prefix is added) is told so, not "must contain two space-delimited values"."""
        parts = header.split()
        if len(parts) == 3 and {parts[0], parts[1]} <= AUTH_HEADER_TYPE_BYTES:
            raise AuthenticationFailed(DOUBLED_BEARER, code="bad_authorization_header")
        return super().get_raw_token(header)

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            return AccessToken(raw_token)  # type: ignore[arg-type]  # simplejwt: bytes too
        except TokenError as error:
            raise InvalidToken(str(error.args[0])) from error


_MAX_CACHED_TOKENS = 10_000
_verified: dict[bytes, tuple[float, Token]] = {}


class CachedStatelessJWTAuthentication(StatelessJWTAuthentication):
    """Verifies each distinct access token once per few seconds per process, not on every
    request (what an RS256 verification costs: docs/performance.md, "What was done in the
    first round").

    The key is the whole token (header, claims, signature): a token differing in any byte
    is verified afresh. An entry lives COMMON["TOKEN_CACHE_SECONDS"] (30; 0: no cache) at
    most and never past the token's `exp`, so an expired token is refused as
    before; a signing key dropped from the JWKS stops serving within that time. Whatever a
    subclass checks beyond the signature (the user service's account, credential version
    and revocation, in get_user) still runs on every request.
    """

    def token_cache_seconds(self) -> float:
        return common_settings.TOKEN_CACHE_SECONDS

    def get_validated_token(self, raw_token: bytes) -> Token:
        lifetime = self.token_cache_seconds()
        if lifetime <= 0:
            return super().get_validated_token(raw_token)
        now = time.time()
        entry = _verified.get(raw_token)
        if entry is not None and entry[0] > now:
            return entry[1]
        token = super().get_validated_token(raw_token)
        exp = token.payload.get("exp")
        expires = min(now + lifetime, float(exp)) if isinstance(exp, int | float) else now
        if expires > now:
            if len(_verified) >= _MAX_CACHED_TOKENS:
                _verified.clear()
            _verified[raw_token] = (expires, token)
        return token


@on_test_reset
def _forget_verified_tokens() -> None:
    """Verify every token afresh."""
    _verified.clear()


@cache
def caller_tokens() -> dict[str, tuple[str, ...]]:
    """Caller name → the tokens it may present (two during a rotation), from SERVICE_TOKENS
    (`orders=…,gateway=…`). Without it, every caller presents the one SERVICE_TOKEN."""
    pairs = common_settings.SERVICE_TOKENS
    tokens: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, token = pair.strip().partition("=")
        if not sep or not name.strip() or not token.strip():
            raise ImproperlyConfigured("SERVICE_TOKENS entries are name=token pairs")
        tokens.setdefault(name.strip(), []).append(token.strip())
    if not tokens:
        shared = common_settings.SERVICE_TOKEN
        return {name: (shared,) for name in SERVICES}
    return {name: tuple(values) for name, values in tokens.items()}


def own_service_token() -> str:
    """What this project presents: the first token SERVICE_TOKENS lists for it."""
    mine = caller_tokens().get(common_settings.SERVICE_NAME)
    return mine[0] if mine else common_settings.SERVICE_TOKEN


def service_callers(sent: str) -> set[str]:
    """The callers whose token `sent` is (with the shared SERVICE_TOKEN: every caller),
    compared in constant time against every token."""
    return {
        name
        for name, tokens in caller_tokens().items()
        for token in tokens
        if hmac.compare_digest(sent.encode(), token.encode())
    }


on_settings_change("COMMON")(caller_tokens.cache_clear)
# The keys, issuer or audience a remembered token was checked with changed.
on_settings_change("COMMON", "JWT_ISSUER", "JWT_AUDIENCE", "SIMPLE_JWT")(_forget_verified_tokens)


class ServiceCallers(frozenset[str]):
    """The callers an X-Service-Token is: `request.auth` after ServiceTokenAuthentication."""


class ServiceTokenAuthentication(BaseAuthentication):
    """The X-Service-Token as a credential (RFC 9110 §15.5.2): none, or one that is no
    caller's, is 401 with a challenge naming the header; a known caller the endpoint does
    not accept is then 403 (HasServiceToken). With the shared SERVICE_TOKEN it is every
    caller."""

    def authenticate(self, request: Request) -> tuple[None, ServiceCallers]:
        sent = request.headers.get(SERVICE_TOKEN_HEADER, "")
        callers = service_callers(sent) if sent else set()
        if not callers:
            raise AuthenticationFailed(f"A valid {SERVICE_TOKEN_HEADER} is required.")
        return None, ServiceCallers(callers)

    def authenticate_header(self, request: Request) -> str:
        return SERVICE_TOKEN_HEADER


def accepted_callers(request: Request) -> set[str]:
    """The callers the request's service token is that its internal path accepts
    (common.identity.service_callers): read from ServiceTokenAuthentication, else the header."""
    callers = request.auth
    if not isinstance(callers, ServiceCallers):
        sent = request.headers.get(SERVICE_TOKEN_HEADER, "")
        callers = service_callers(sent) if sent else set()
    return set(callers) & set(callers_for(request.path.rstrip("/")))


class HasServiceToken(BasePermission):
    """Service-to-service endpoints: the caller's own token, and a caller this endpoint
    accepts (common.identity.service_callers). With one shared SERVICE_TOKEN, every caller is each.
    Behind ServiceTokenAuthentication a missing or unknown token is 401, this 403."""

    message = "A valid X-Service-Token of a caller this endpoint accepts is required."

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(accepted_callers(request))


class ServiceTokenRequired:
    """A view mixin (before the view class) for service-to-service endpoints: none or an
    unknown X-Service-Token is 401 with a challenge naming the header, a caller the
    endpoint does not accept 403; a user's token counts for nothing here. One style in
    every project (the gateway's internal endpoints answer the same)."""

    authentication_classes: Sequence[type[BaseAuthentication]] = (ServiceTokenAuthentication,)
    permission_classes: Sequence[_PermissionClass] = (HasServiceToken,)

    def get_authenticate_header(self, request: Request) -> str:
        return SERVICE_TOKEN_HEADER


class IsStaff(BasePermission):
    """Staff according to the token's `is_staff` claim."""

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class GatewayConsumerAuthentication(BaseAuthentication):
    """A call the gateway forwards for an API key's consumer: served as the consumer's
    owner (request.user, never staff), with the consumer and the key's scopes as
    request.auth. Believed only beside the gateway's service token: the gateway drops
    these headers from what clients send, and a client cannot have its token."""

    def authenticate(self, request: Request) -> tuple[TokenUser, dict[str, Any]] | None:
        meta = request._request.META
        consumer = meta.get("HTTP_X_CONSUMER_ID")
        if consumer is None:
            return None
        sent = meta.get("HTTP_X_SERVICE_TOKEN", "")
        if "gateway" not in service_callers(sent):
            raise AuthenticationFailed("Consumer headers are believed from the gateway only.")
        owner = meta.get("HTTP_X_CONSUMER_OWNER", "")
        if not (owner.isdigit() and consumer.isdigit()):
            raise AuthenticationFailed("The gateway's consumer headers are malformed.")
        grant = {
            "consumer_id": int(consumer),
            "consumer_name": meta.get("HTTP_X_CONSUMER_NAME", ""),
            "scopes": meta.get("HTTP_X_CONSUMER_SCOPES", "").split(),
        }
        claims = {jwt_settings.USER_ID_CLAIM: int(owner), "is_staff": False, **grant}
        user = TokenUser(claims)  # type: ignore[arg-type]  # simplejwt: any mapping of claims
        return user, grant
