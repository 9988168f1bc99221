"""Authentication and permissions every service uses: stateless JWT, service token."""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import Token

from common.jwt import AccessToken

SERVICE_TOKEN_HEADER = "X-Service-Token"  # noqa: S105 -- a header name


class StatelessJWTAuthentication(JWTStatelessUserAuthentication):
    """Verifies the access token offline and builds the user from its claims: no DB, no I/O."""

    www_authenticate_realm = "api"

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            return AccessToken(raw_token)
        except TokenError as error:
            raise InvalidToken(str(error.args[0])) from error


class HasServiceToken(BasePermission):
    """Service-to-service endpoints: the caller must present the shared service token."""

    message = "A valid X-Service-Token is required."

    def has_permission(self, request: Request, view: object) -> bool:
        sent = request.headers.get(SERVICE_TOKEN_HEADER, "")
        expected = settings.COMMON["SERVICE_TOKEN"]
        return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


class IsStaff(BasePermission):
    """Staff according to the token's `is_staff` claim."""

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
