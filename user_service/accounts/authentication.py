"""The user service's own endpoints authenticate the account, not only the token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from common.identity.auth import StatelessJWTAuthentication
from common.identity.revocation import token_is_revoked
from user_service.accounts.exceptions import StaleToken
from user_service.accounts.tokens import CREDENTIALS_CLAIM, credentials_fingerprint

if TYPE_CHECKING:
    from user_service.accounts.models import User


class AccountJWTAuthentication(StatelessJWTAuthentication):
    """The access token verified as everywhere, then the account it names must exist, be
    active and still have the password the token was issued under: for the user
    service's own endpoints, which act on the account in the database.
    """

    def get_user(self, validated_token: Token) -> Any:
        user = cast("User", JWTAuthentication.get_user(self, validated_token))  # this service's
        if validated_token.get(CREDENTIALS_CLAIM) != credentials_fingerprint(user):
            raise StaleToken()
        if token_is_revoked(validated_token.payload):
            raise StaleToken()
        return user
