"""Edge authentication: the access token verified offline, or an API key checked, and the
route's policy applied."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import Token

from common.http.middleware import access_log
from common.identity.auth import CachedStatelessJWTAuthentication
from common.identity.revocation import token_is_revoked
from gateway_project.conf import gateway_settings
from gateway_project.consumers.keys import KeyHolder, key_cache
from gateway_project.routing.policies import PUBLIC, STAFF, USER


class CachedJWTAuthentication(CachedStatelessJWTAuthentication):
    """The services' token check with the gateway's cache lifetime
    (GATEWAY["TOKEN_CACHE_SECONDS"]) and revocation checked on every request.

    Each distinct token is verified once per few seconds (the cache is
    common.identity.auth's, keyed by the whole token, never past the token's own expiry).
    """

    def token_cache_seconds(self) -> float:
        return gateway_settings.TOKEN_CACHE_SECONDS

    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        """On the auth routes (public, throttled per IP) a bad or expired token is no
        token: it must not stand in the way of logging in, refreshing or logging out."""
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            route = getattr(request.parser_context.get("view"), "route", None)
            if (
                route is not None
                and route.throttle == "auth"
                and (route.policy_for(request.method) == PUBLIC)
            ):
                return None
            raise

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = super().get_validated_token(raw_token)
        # Checked on every request, cached or not: logout and password change revoke
        # (common.identity.revocation; cost measured in docs/security.md).
        if token_is_revoked(token.payload):
            raise InvalidToken("This token was revoked by a logout or password change.")
        return token


API_KEY_HEADER = "HTTP_X_API_KEY"
API_KEY_SCHEME = "apikey"


def presented_key(request: Request) -> str | None:
    """The API key a request carries: `Authorization: ApiKey <key>` or `X-API-Key`."""
    meta = request._request.META
    scheme, _, value = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == API_KEY_SCHEME:
        return str(value).strip()
    return meta.get(API_KEY_HEADER)


class ApiKeyAuthentication(BaseAuthentication):
    """A consumer's API key (gateway_project.consumers): its holder becomes request.user.
    A key that is not usable (unknown, expired, revoked, its consumer off) is 401."""

    def authenticate(self, request: Request) -> tuple[KeyHolder, str] | None:
        raw = presented_key(request)
        if raw is None:
            return None
        holder = key_cache.find(raw)
        if holder is None:
            raise AuthenticationFailed("This API key is not valid: unknown, expired or revoked.")
        access_log(request._request)["consumer"] = holder.consumer_id
        access_log(request._request)["api_key"] = holder.prefix
        return holder, holder.prefix

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey realm="api"'


class RouteAuthPolicy(BasePermission):
    """The route table's policy for this method: public, a signed-in user, or staff.

    Anonymous callers of a user or staff route get 401 (DRF: no authenticator
    succeeded); signed-in non-staff callers of a staff route get 403.
    """

    message = "This action is for staff only."

    def has_permission(self, request: Request, view: object) -> bool:
        policy = view.route.policy_for(request.method)  # type: ignore[attr-defined]
        if policy is None or policy == PUBLIC:
            return True  # unlisted methods answer 405 after this
        user = request.user
        if not (user is not None and user.is_authenticated):
            return False
        if isinstance(user, KeyHolder):
            return key_allowed(view.route, request.method, user)
        if policy == USER:
            return True
        return policy == STAFF and bool(user.is_staff)


def key_allowed(route: Any, method: str, holder: KeyHolder) -> bool:
    """A key opens a method the route table gives a scope, when the key has that scope;
    a public method takes any caller. 403 otherwise, saying which scope was missing."""
    if route.policy_for(method) == PUBLIC:
        return True
    scope = route.scope_for(method)
    if scope is None:
        raise PermissionDenied(f"{method} {route.name} does not take API keys.")
    if scope not in holder.scopes:
        raise PermissionDenied(f"This API key lacks the scope {scope!r} for {method} {route.name}.")
    return True
