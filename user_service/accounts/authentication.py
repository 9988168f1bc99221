from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import Token

from common.jwt import AccessToken


class AccountJWTAuthentication(JWTAuthentication):
    """The access token as everywhere, plus the account it names must exist and be active.

    For the user service's own endpoints, which act on the account in the database.
    """

    www_authenticate_realm = "api"

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            return AccessToken(raw_token)
        except TokenError as error:
            raise InvalidToken(str(error.args[0])) from error


class AccountJWTScheme(SimpleJWTScheme):
    """The same bearer scheme in the OpenAPI schema as simplejwt's own authentication."""

    target_class = AccountJWTAuthentication
