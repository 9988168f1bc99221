"""The user service's business rules: accounts, credentials and the life of refresh tokens.

Bad input raises Django's ValidationError; common.http.problems.exception_handler converts it
(400, problem details with `errors`), so no rule here depends on how DRF reports it."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from common.identity.revocation import tokens_revoke_before
from common.limits.login_limits import limits_check
from user_service.accounts.exceptions import BadCredentials, TokenRejected, WrongOldPassword
from user_service.accounts.models import User
from user_service.accounts.selectors import (
    user_by_username,
    user_email_taken,
    user_username_taken,
)
from user_service.accounts.throttles import password_change_limits
from user_service.accounts.tokens import (
    CREDENTIALS_CLAIM,
    RefreshToken,
    access_token_for,
    admin_sign_on_for,
    credentials_fingerprint,
    refresh_token_for,
)


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def user_register(*, username: str, password: str, email: str = "") -> User:
    """A new, ordinary account; Django's password validators apply."""
    email = User.objects.normalize_email(email)
    errors: dict[str, list] = {}
    if user_username_taken(username=username):
        errors["username"] = [
            ValidationError(_("A user with that username already exists."), code="unique")
        ]
    if user_email_taken(email=email):
        errors["email"] = [
            ValidationError(_("A user with that email already exists."), code="unique")
        ]
    try:
        validate_password(password, user=User(username=username, email=email))
    except ValidationError as error:
        errors["password"] = error.error_list
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError as error:
        # Lost a race with a concurrent registration of the same name or email.
        raise ValidationError(
            _("A user with that username or email already exists."), code="unique"
        ) from error


def token_pair_issue(*, user: User) -> TokenPair:
    refresh = refresh_token_for(user)
    return TokenPair(access=str(access_token_for(user)), refresh=str(refresh))


def user_authenticate(*, request: HttpRequest | None, username: str, password: str) -> User:
    """The active user with these credentials, or BadCredentials (timing-equalised by Django)."""
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        raise BadCredentials()
    return user


def user_login(*, request: HttpRequest | None, username: str, password: str) -> TokenPair:
    user = user_authenticate(request=request, username=username, password=password)
    update_last_login(None, user)  # type: ignore[arg-type]  # a signal receiver: no sender
    return token_pair_issue(user=user)


def _refresh_token_from(raw: str) -> RefreshToken:
    """Signature, kid, iss, aud, expiry, type and (non-atomically) the blacklist."""
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt: a str too
    except TokenError as error:
        raise TokenRejected(str(error.args[0])) from error


def _spend(token: RefreshToken) -> None:
    """Blacklist the token; exactly one of any number of concurrent callers succeeds.

    The unique constraint on the blacklist row decides: a second insert fails (or, on
    PostgreSQL, waits for the first transaction and then fails), unlike simplejwt's
    get_or_create, which reports success to both.
    """
    outstanding, _created = OutstandingToken.objects.get_or_create(
        jti=token["jti"],
        defaults={
            "user_id": None,
            "token": str(token),
            "created_at": timezone.now(),
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError as error:
        raise TokenRejected(_("Token is blacklisted")) from error


def token_refresh(*, refresh: str) -> TokenPair:
    """A new pair for a refresh token that is spent by this call; it works once."""
    token = _refresh_token_from(refresh)
    with transaction.atomic():
        user = User.objects.filter(pk=token.get("user_id")).first()
        if (
            user is None
            or not user.is_active
            or token.get(CREDENTIALS_CLAIM) != credentials_fingerprint(user)
        ):
            raise TokenRejected(_("The account of this token is gone, inactive or changed."))
        _spend(token)
        return token_pair_issue(user=user)


def token_revoke(*, refresh: str) -> None:
    """Logout: the refresh token stops working, and the user's access tokens at the edge."""
    token = _refresh_token_from(refresh)
    with transaction.atomic():
        _spend(token)
    if token.get("user_id") is not None:
        tokens_revoke_before(token["user_id"])


def user_tokens_revoke(*, user: User) -> int:
    """Blacklist every refresh token of the user that is still outstanding."""
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(created)


def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    """Every attempt counts (USERS_RATE_PASSWORD_CHANGE per user): each one may be a
    guess of the old password by whoever holds a stolen access token. Counted outside
    the transaction, so a refused guess is not rolled back with it."""
    limits_check(password_change_limits(user.pk))
    _password_change(user=user, old_password=old_password, new_password=new_password)


@transaction.atomic
def _password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise WrongOldPassword()
    try:
        validate_password(new_password, user=user)
    except ValidationError as error:
        raise ValidationError({"new_password": error.error_list}) from error
    user.set_password(new_password)
    user.save(update_fields=["password"])  # revokes at the edge: User.save
    user_tokens_revoke(user=user)


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])  # revokes at the edge: User.save
    user_tokens_revoke(user=user)


def user_profile_update(
    *,
    user: User,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> User:
    """Change what a user may change about themselves; None leaves a field as it is."""
    changed = []
    if email is not None:
        email = User.objects.normalize_email(email)
        if user_email_taken(email=email, exclude_pk=user.pk):
            raise ValidationError(
                {
                    "email": ValidationError(
                        _("A user with that email already exists."), code="unique"
                    )
                }
            )
        user.email = email
        changed.append("email")
    if first_name is not None:
        user.first_name = first_name
        changed.append("first_name")
    if last_name is not None:
        user.last_name = last_name
        changed.append("last_name")
    if changed:
        try:
            with transaction.atomic():
                user.save(update_fields=changed)
        except IntegrityError as error:
            raise ValidationError(
                {
                    "email": ValidationError(
                        _("A user with that email already exists."), code="unique"
                    )
                }
            ) from error
    return user


def admin_sign_on_issue(*, user: User) -> str:
    """The admins' sign-on credential for a staff sign-in (common.identity.sso), recorded as
    outstanding for as long as an admin session lasts, so that a sign-out can spend it."""
    return str(admin_sign_on_for(user))


def admin_sign_on_status(*, username: str, jti: str) -> dict | None:
    """What every admin re-checks: the account's flags and credential version, and
    whether this sign-on was spent by a sign-out (or never issued). None: no account."""
    user = user_by_username(username=username)
    if user is None:
        return None
    issued = OutstandingToken.objects.filter(user=user, jti=jti).first() if jti else None
    signed_out = issued is None or BlacklistedToken.objects.filter(token=issued).exists()
    return {
        "username": user.username,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "credential_version": user.credential_version,
        "signed_out": signed_out,
    }


def admin_sign_on_spend(*, username: str, jti: str) -> None:
    """Single logout: the sign-on is spent; every admin session made from it ends at
    its next re-check. Spending one twice, or one that is unknown, is no error."""
    issued = OutstandingToken.objects.filter(user__username=username, jti=jti).first()
    if issued is not None:
        BlacklistedToken.objects.get_or_create(token=issued)
