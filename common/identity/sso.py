"""Single sign-on for the admins: a staff account of the user service logs in everywhere.

The gateway's, product service's and order service's /admin/ log in through this backend:
it asks the user service (POST /internal/users/authenticate, service token) to check the
username and password, verifies the sign-on credential it answers with offline
(common.identity.jwt.AdminSignOnToken: signature, kid, iss, aud, type, expiry: a forged or replayed
answer, or an API access token, grants nothing), and keeps a local user's
is_staff/is_superuser in step with its claims. Non-staff accounts are refused.

The credential (the `admin_sso` cookie, common.identity.admin_mount) opens the other admins for
its few minutes; every admin session made from it (or from the password sign-in that
issued it) holds its `jti` and the account's credential version. Every
SSO_RECHECK_SECONDS the session is re-checked at the user service (GET
/internal/users/status): a password change, a change of is_active/is_staff/is_superuser
(the version moved), or a sign-out at any admin (POST /internal/users/status/sign-out
spends the `jti`) ends it at the next request after that; is_superuser follows.

Every admin login (this one and a local account's) is first counted per client IP
(AdminLoginThrottleBackend, before any password is hashed).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time
from typing import Any, TypeGuard

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    REDIRECT_FIELD_NAME,
    get_user_model,
    login,
    logout,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.module_loading import import_string
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.exceptions import TokenError

from common.identity.jwt import SSO_COOKIE, AdminSignOnToken
from common.identity.service_client import client_for
from common.limits.login_limits import Limit, client_ip, limits_hit
from common.settings.namespaces import common_settings

logger = logging.getLogger(__name__)

AUTHENTICATE_PATH = "/internal/users/authenticate"
STATUS_PATH = "/internal/users/status"
SIGN_OUT_PATH = "/internal/users/status/sign-out"
SSO_RECHECK_SECONDS = 30
# The session's sign-on: [jti, credential version, username] of the credential it came from.
SESSION_SIGN_ON = "admin_sign_on"


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
    form._errors = ErrorDict({NON_FIELD_ERRORS: ErrorList([message])})  # type: ignore[attr-defined]
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
    # a page for a person, not problem JSON (common.http.problems reads it)
    response.problem_passthrough = True  # type: ignore[attr-defined]
    return response.render()


def _sign_on_from_user_service(
    username: str, password: str, request: HttpRequest | None
) -> AdminSignOnToken | None:
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
        return AdminSignOnToken(response.json()["sign_on"])
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
        token = _sign_on_from_user_service(username, password, request)
        if token is None or token.get("username") != username:
            return None
        user = user_for_claims(token.payload)
        if user is not None and request is not None:
            # common.identity.admin_mount hands it on to the other admins (the SSO cookie).
            # as issued: only the issuer can sign
            request.admin_sso_token = token.token  # type: ignore[attr-defined]
        return user


def _local_accounts() -> Any | None:
    """The user service's own sign-on rules (ADMIN_SSO_ACCOUNTS names its services
    module); None elsewhere, where the user service is asked over HTTP."""
    name = getattr(settings, "ADMIN_SSO_ACCOUNTS", "")
    return import_string(name) if name else None


def user_for_claims(claims: dict[str, Any]) -> Any:
    """The local staff user claims of the user service vouch for (made or kept in step
    with them), or None. On the user service its own account decides."""
    user_model = get_user_model()
    username = claims.get("username")
    if not username:
        return None
    if _local_accounts() is not None:
        user_id = claims.get("user_id")  # None matches no account
        user = user_model.objects.filter(pk=user_id, username=username).first()  # type: ignore[misc]
        ok = user is not None and user.is_staff and user.is_active
        return user if ok else None
    if claims.get("is_staff") is not True:
        # A user this backend made and the user service no longer calls staff loses
        # the admin here too; a local account with its own password is left alone.
        user_model.objects.filter(
            username=username, password__startswith=UNUSABLE_PASSWORD_PREFIX
        ).update(is_staff=False, is_superuser=False)
        return None
    user = _local_user(user_model, username)
    wanted = {"is_staff": True, "is_superuser": claims.get("is_superuser") is True}
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


def _status_key(username: str, jti: str) -> str:
    return f"sso:status:{hashlib.sha256(f'{username}:{jti}'.encode()).hexdigest()[:32]}"


def sign_on_status(username: str, jti: str) -> dict[str, Any] | None:
    """What the user service says now of this account and sign-on: is_active, is_staff,
    is_superuser, credential_version, signed_out; None if it cannot say (unknown
    account, unreachable: the admin is then unavailable, as logins are). Remembered
    SSO_RECHECK_SECONDS here, so a change reaches this admin within that."""
    local = _local_accounts()
    if local is not None:
        status: dict[str, Any] | None = local.admin_sign_on_status(username=username, jti=jti)
        return status
    key = _status_key(username, jti)
    with contextlib.suppress(Exception):
        remembered = cache.get(key)
        if remembered is not None:
            return remembered or None
    try:
        response = client_for("users").get(
            STATUS_PATH, params={"username": username, "sign_on": jti}
        )
        body = response.json() if response.status_code == 200 else {}
    except (APIException, ValueError) as error:
        logger.warning("SSO: cannot re-check %s at the user service: %s", username, error)
        return None
    status = body if isinstance(body, dict) and body.get("username") == username else {}
    if response.status_code in (200, 404):
        with contextlib.suppress(Exception):
            cache.set(key, status, SSO_RECHECK_SECONDS)
    return status or None


def _still_signed_on(status: dict[str, Any] | None, version: Any) -> TypeGuard[dict[str, Any]]:
    return bool(
        status
        and status.get("is_active") is True
        and status.get("is_staff") is True
        and status.get("signed_out") is False
        and status.get("credential_version") == version
    )


def remember_sign_on(request: HttpRequest, raw: str) -> None:
    """After a sign-in: bind the session to the credential it came from."""
    claims = AdminSignOnToken(raw).payload  # type: ignore[arg-type]  # simplejwt: a str too
    request.session[SESSION_SIGN_ON] = [claims["jti"], claims.get("cv"), claims["username"]]


def sign_in_by_cookie(request: HttpRequest) -> bool:
    """No session here but a valid sign-on credential of a staff user in the SSO cookie,
    not spent, for the account's current credential version: sign that user in."""
    raw = request.COOKIES.get(SSO_COOKIE)
    if raw is None:
        return False
    try:
        claims = AdminSignOnToken(raw).payload  # type: ignore[arg-type]  # simplejwt: a str too
    except TokenError:
        request.admin_sso_forget = True  # type: ignore[attr-defined]  # read by the middleware
        return False
    status = sign_on_status(claims["username"], claims["jti"])
    if not _still_signed_on(status, claims.get("cv")):
        request.admin_sso_forget = True  # type: ignore[attr-defined]  # read by the middleware
        return False
    user = user_for_claims({**claims, **status})
    if user is None:
        return False
    request.admin_sso_via_cookie = True  # type: ignore[attr-defined]  # read by the signal
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[-1])
    remember_sign_on(request, raw)
    return True


def session_still_signed_on(request: HttpRequest) -> bool:
    """An admin session bound to a sign-on: whether it still holds (the re-check), its
    user's is_superuser brought in step. A session UserServiceBackend made with no
    sign-on (older than this check) holds no longer; a local account's holds."""
    user = request.user
    sign_on = request.session.get(SESSION_SIGN_ON)
    if not sign_on:
        vouched = request.session.get(BACKEND_SESSION_KEY) == f"{__name__}.UserServiceBackend"
        return _local_accounts() is not None or not vouched
    jti, version, username = sign_on
    status = sign_on_status(username, jti)
    if not _still_signed_on(status, version) or username != user.get_username():
        return False
    if _local_accounts() is None:
        return user_for_claims(status) is not None
    return True


def end_stale_session(request: HttpRequest) -> None:
    """The re-check failed: sign out here (the sign-on is spent or void already)."""
    request.admin_sso_ended = True  # type: ignore[attr-defined]  # read by the signal
    logout(request)


def sign_out(request: HttpRequest) -> None:
    """Single logout: spend the session's sign-on and the SSO cookie's at the user
    service, so every admin session made from them ends at its next re-check."""
    spent = []
    sign_on = request.session.get(SESSION_SIGN_ON) if hasattr(request, "session") else None
    if sign_on:
        spent.append((sign_on[2], sign_on[0]))
    with contextlib.suppress(TokenError):
        raw = request.COOKIES.get(SSO_COOKIE)
        if raw:
            claims = AdminSignOnToken(raw).payload  # type: ignore[arg-type]  # simplejwt: a str too
            spent.append((claims["username"], claims["jti"]))
    local = _local_accounts()
    for username, jti in dict.fromkeys(spent):
        with contextlib.suppress(Exception):
            cache.delete(_status_key(username, jti))
        if local is not None:
            local.admin_sign_on_spend(username=username, jti=jti)
            continue
        try:
            client_for("users").post(SIGN_OUT_PATH, json={"username": username, "sign_on": jti})
        except APIException as error:
            logger.error("SSO: sign-out of %s not recorded: %s", username, error)


def issue_sign_on(user: Any) -> str | None:
    """On the user service: a sign-on credential for a staff account signing in."""
    local = _local_accounts()
    if local is None or not getattr(user, "is_staff", False):
        return None
    issued: str | None = local.admin_sign_on_issue(user=user)
    return issued
