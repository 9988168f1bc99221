"""The tokens this service issues: RS256 with a kid, through common.identity.jwt's backend."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from common.identity.jwt import AccessToken, AdminSignOnToken, KidTokenMixin
from common.identity.revocation import ISSUED_MS_CLAIM
from user_service.accounts.models import User

# Both tokens carry a fingerprint of the password and credential version they were
# issued under, so any identity change (User.save) makes every older token fail here.
CREDENTIALS_CLAIM = "cred"


def credentials_fingerprint(user: User) -> str:
    """HMAC-SHA256 of the password hash and credential version under SECRET_KEY (the
    session auth hash, User._get_session_auth_hash): any identity change moves it."""
    return user.get_session_auth_hash()[:32]


class RefreshToken(KidTokenMixin, tokens.RefreshToken):  # type: ignore[misc]  # simplejwt's own
    access_token_class = AccessToken


def access_token_for(user: User) -> AccessToken:
    """An access token with the contract's claims, read from the user as it is now."""
    token = AccessToken()
    token["user_id"] = user.pk
    token["username"] = user.get_username()
    token["is_staff"] = user.is_staff
    token["is_superuser"] = user.is_superuser
    token[CREDENTIALS_CLAIM] = credentials_fingerprint(user)
    # iat has whole seconds; revocation (common.identity.revocation) needs to tell apart a token
    # issued just before a logout from one issued just after it.
    token[ISSUED_MS_CLAIM] = int(time.time() * 1000)
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


def admin_sign_on_for(user: User) -> AdminSignOnToken:
    """The admins' sign-on credential, bound to the account's credential version (`cv`)
    and recorded as outstanding until the longest admin session ends (its spent record,
    a blacklist row, must outlive every session made from it)."""
    token = AdminSignOnToken()
    token["user_id"] = user.pk
    token["username"] = user.get_username()
    token["is_staff"] = user.is_staff
    token["is_superuser"] = user.is_superuser
    token["cv"] = user.credential_version
    OutstandingToken.objects.create(
        user=user,
        jti=token["jti"],
        token=str(token),
        created_at=token.current_time,
        expires_at=token.current_time + timedelta(seconds=settings.SESSION_COOKIE_AGE),
    )
    return token
