"""The tokens this service issues: RS256 with a kid, through common.jwt's backend."""

from __future__ import annotations

from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from common.jwt import AccessToken, KidTokenMixin
from user_service.accounts.models import User

# A refresh token carries a fingerprint of the password it was issued under, so any
# password change (API, admin, `changepassword`) makes every older refresh token fail.
CREDENTIALS_CLAIM = "cred"


def credentials_fingerprint(user: User) -> str:
    """HMAC-SHA256 of the password hash under SECRET_KEY (Django's session auth hash)."""
    return user.get_session_auth_hash()[:32]


class RefreshToken(KidTokenMixin, tokens.RefreshToken):
    access_token_class = AccessToken


def access_token_for(user: User) -> AccessToken:
    """An access token with the contract's claims, read from the user as it is now."""
    token = AccessToken()
    token["user_id"] = user.pk
    token["username"] = user.get_username()
    token["is_staff"] = user.is_staff
    token["is_superuser"] = user.is_superuser
    return token


def refresh_token_for(user: User) -> RefreshToken:
    """A refresh token, recorded as outstanding so that it can be spent and revoked."""
    token = RefreshToken()
    token["user_id"] = user.pk
    token[CREDENTIALS_CLAIM] = credentials_fingerprint(user)
    OutstandingToken.objects.create(
        user=user,
        jti=token["jti"],
        token=str(token),
        created_at=token.current_time,
        expires_at=datetime_from_epoch(token["exp"]),
    )
    return token
