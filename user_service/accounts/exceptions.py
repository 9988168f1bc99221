"""The user service's errors: DRF exceptions that common.http.problems renders as problem
details. Bad input is Django's ValidationError, raised by the services and converted there."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework_simplejwt.exceptions import AuthenticationFailed as TokenAuthenticationFailed


class BadCredentials(AuthenticationFailed):
    """One answer whether the username exists or not."""

    default_detail = _("No active account found with the given credentials.")
    default_code = "bad_credentials"
    problem_type = "bad-credentials"


class WrongOldPassword(PermissionDenied):
    """A password change whose old password is wrong: the input is well formed, the proof
    that the caller knows the password is not (403; the access token stays good)."""

    default_detail = _("The old password is not correct.")
    default_code = "wrong_old_password"
    problem_type = "wrong-old-password"
    problem_extra = {"errors": {"old_password": [default_detail]}}


class TokenRejected(AuthenticationFailed):
    default_detail = _("Token is invalid or expired.")
    default_code = "token_not_valid"
    problem_type = "invalid-token"


class StaleToken(TokenAuthenticationFailed):
    default_detail = "This token was issued before a password change or logout."
    default_code = "token_not_valid"
    problem_type = "invalid-token"
