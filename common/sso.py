"""Single sign-on for the admins: a staff account of the user service logs in everywhere.

The gateway's, product service's and order service's /admin/ log in through this backend:
it asks the user service (POST /internal/users/authenticate, service token) to check the
username and password, verifies the access token it answers with offline (signature, kid,
iss, aud, expiry: a forged or replayed answer grants nothing), and keeps a local user's
is_staff/is_superuser in step with the token's claims. Non-staff accounts are refused.

Every admin login (this one and a local account's) is first counted per client IP
(AdminLoginThrottleBackend, before any password is hashed), and a signed-in SSO admin is
re-checked at the user service every SSO_RECHECK_SECONDS: demoted or deactivated there,
the session ends here at the next request after that.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import Any

from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.exceptions import TokenError

from common.conf import common_settings
from common.jwt import AccessToken
from common.login_limits import Limit, client_ip, limits_hit
from common.service_client import client_for

logger = logging.getLogger(__name__)

AUTHENTICATE_PATH = "/internal/users/authenticate"
STATUS_PATH = "/internal/users/status"
SSO_RECHECK_SECONDS = 30


def admin_login_limits(request: HttpRequest) -> list[Limit]:
    return [Limit(f"admin-ip:{client_ip(request)}", common_settings.ADMIN_RATE_LOGIN)]


class AdminLoginThrottled(Exception):
    """Raised out of authenticate() (not a PermissionDenied, which Django would turn into
    "wrong password"): the admin answers 429 naming the wait (throttled_login_response)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"too many admin login attempts; retry in {wait:.0f} s")
        self.wait = wait


class AdminLoginThrottleBackend(ModelBackend):
    """First of the backends: counts the attempt per client IP and stops it when over.

    The attempt ends at AdminLoginThrottled, so neither the local password hash nor the
    user service's is computed for a refused attempt. It authenticates nobody; the rest
    is ModelBackend's (the first backend is what force_login names).
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        wait = limits_hit(admin_login_limits(request)) if request is not None else None
        if wait is not None:
            raise AdminLoginThrottled(wait)
        return None


def throttled_login_response(request: HttpRequest, error: Exception) -> HttpResponse | None:
    """The admin's login page again with status 429 and Retry-After, saying that there
    were too many attempts and when to retry (as django-axes does); None for other errors."""
    if not isinstance(error, AdminLoginThrottled):
        return None
    from django.contrib import admin
    from django.contrib.admin.forms import AdminAuthenticationForm
    from django.forms.utils import ErrorDict, ErrorList

    seconds = math.ceil(error.wait)
    message = (
        f"Too many login attempts. Try again in {seconds} seconds "
        f"(after {time.strftime('%H:%M:%S', time.gmtime(time.time() + seconds))} UTC)."
    )
    form = AdminAuthenticationForm(request, data=request.POST)
    form._errors = ErrorDict({NON_FIELD_ERRORS: ErrorList([message])})
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "form": form,
        "username": request.POST.get("username", ""),
        REDIRECT_FIELD_NAME: request.GET.get(REDIRECT_FIELD_NAME, ""),
    }
    response = TemplateResponse(request, "admin/login.html", context, status=429)
    response["Retry-After"] = str(seconds)
    response.problem_passthrough = True  # a page for a person, not problem JSON
    return response.render()


def _claims_from_user_service(
    username: str, password: str, request: HttpRequest | None
) -> AccessToken | None:
    # The user service limits per (username, client IP): tell it who the client is.
    headers = {"X-Forwarded-For": client_ip(request)} if request is not None else None
    try:
        response = client_for("users").post(
            AUTHENTICATE_PATH, json={"username": username, "password": password}, headers=headers
        )
    except APIException as error:
        logger.warning("SSO: the user service is unavailable: %s", error)
        return None
    if response.status_code != 200:
        if response.status_code not in (400, 401, 429):
            logger.warning("SSO: the user service answered %s", response.status_code)
        return None
    try:
        return AccessToken(response.json()["access"])
    except (ValueError, KeyError, TypeError, TokenError) as error:
        logger.warning("SSO: the user service's answer does not verify: %s", error)
        return None


class UserServiceBackend(ModelBackend):
    """Authenticates against the user service; permissions and sessions stay ModelBackend's."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not username or not password:
            return None
        token = _claims_from_user_service(username, password, request)
        if token is None or token.get("username") != username:
            return None
        user = user_for_claims(token, own_accounts=False)
        if user is not None and request is not None:
            # common.admin_mount hands the token on to the other admins (SSO cookie).
            request.admin_sso_token = token.token  # as issued: only the issuer can sign
        return user

    def get_user(self, user_id: Any) -> Any:
        """The session's user, while the user service still calls that account staff."""
        user = super().get_user(user_id)
        if user is None or user.has_usable_password():
            return user  # a local account answers for itself
        if account_is_staff(user.get_username()):
            return user
        type(user).objects.filter(pk=user.pk).update(is_staff=False, is_superuser=False)
        return None


def user_for_claims(token: AccessToken, *, own_accounts: bool) -> Any:
    """The local staff user an access token of the user service vouches for, or None.

    `own_accounts` on the user service itself (it issues the tokens): its own account
    decides. Elsewhere the local user is made or kept in step with the claims.
    """
    user_model = get_user_model()
    username = token.get("username")
    if not username:
        return None
    if own_accounts:
        user = user_model.objects.filter(pk=token.get("user_id"), username=username).first()
        ok = user is not None and user.is_staff and user.is_active
        return user if ok else None
    if token.get("is_staff") is not True:
        # A user this backend made and the user service no longer calls staff loses
        # the admin here too; a local account with its own password is left alone.
        user_model.objects.filter(
            username=username, password__startswith=UNUSABLE_PASSWORD_PREFIX
        ).update(is_staff=False, is_superuser=False)
        return None
    user = _local_user(user_model, username)
    wanted = {"is_staff": True, "is_superuser": token.get("is_superuser") is True}
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    if changed:
        user.save(update_fields=changed)
    return user if user.is_active else None


def _local_user(user_model: Any, username: str) -> Any:
    try:
        return user_model.objects.get(username=username)
    except user_model.DoesNotExist:
        user = user_model(username=username)
        # No local password: only the user service can vouch for this account.
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # created by a concurrent login
            return user_model.objects.get(username=username)
        return user


def account_is_staff(username: str) -> bool:
    """Whether the user service calls this account active staff, asked once per few seconds.

    Unreachable user service: not staff (the admin is unavailable while logins are anyway).
    """
    key = f"sso:staff:{username}"
    try:
        verdict = cache.get(key)
    except Exception:
        verdict = None
    if verdict is None:
        try:
            response = client_for("users").get(STATUS_PATH, params={"username": username})
            body = response.json() if response.status_code == 200 else {}
        except (APIException, ValueError) as error:
            logger.warning("SSO: cannot re-check %s at the user service: %s", username, error)
            return False
        verdict = bool(body.get("is_active") is True and body.get("is_staff") is True)
        if response.status_code in (200, 404):
            with contextlib.suppress(Exception):
                cache.set(key, verdict, SSO_RECHECK_SECONDS)
    return verdict
