"""The account model: Django's user, with usernames and emails unique case-insensitively,
and a credential version that every identity change bumps and revokes at the edge."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from common.identity.revocation import tokens_revoke_before

# What a token or an admin session vouches for: changing any of these ends them all.
IDENTITY_FIELDS = ("password", "is_active", "is_staff", "is_superuser")


class User(AbstractUser):
    """The account; email is optional, but no two accounts share one (case-insensitively).

    save() is the one place identity changes are noticed, whatever made them (the API,
    the admin's change or password form, an admin action, `shell`, `changepassword`):
    when a field of IDENTITY_FIELDS differs from the stored row, credential_version goes
    up (every token and session fingerprint changes with it) and the user's access tokens
    are revoked at the edge (common.identity.revocation). `queryset.update()` bypasses save(): it
    changes no version and revokes nothing (docs/security.md, threat 7).
    """

    email = models.EmailField(_("email address"), blank=True, default="")
    credential_version = models.PositiveIntegerField(
        default=0, editable=False, help_text=_("Bumped by every identity change.")
    )

    # createsuperuser --noinput must not insist on an email the contract calls optional.
    REQUIRED_FIELDS = []

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]  # not in the stubs
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message=_("A user with that username already exists."),
            ),
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_ci_unique",
                violation_error_message=_("A user with that email already exists."),
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        changed = self._identity_changed(update_fields)
        if changed:
            self.credential_version += 1
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "credential_version"}
        super().save(*args, **kwargs)
        if changed:
            user_id = self.pk
            # Now (a token issued from here on carries the new version) and again at
            # commit: a login between the two read the old row.
            tokens_revoke_before(user_id)
            transaction.on_commit(lambda: tokens_revoke_before(user_id))

    def check_password(self, raw_password: str) -> bool:
        """Django's, except that upgrading the hash of a correct password (a new hasher
        or more iterations) is not a password change: it revokes nothing."""

        def rehash(raw: str) -> None:
            self.set_password(raw)
            self._password = None
            self._rehashing = True
            try:
                self.save(update_fields=["password"])
            finally:
                self._rehashing = False

        return check_password(raw_password, self.password, rehash)

    def _identity_changed(self, update_fields: Any) -> bool:
        ignored = ("password",) if getattr(self, "_rehashing", False) else ()
        watched = [
            name
            for name in IDENTITY_FIELDS
            if (update_fields is None or name in update_fields) and name not in ignored
        ]
        if self._state.adding or self.pk is None or not watched:
            return False
        stored = type(self)._base_manager.filter(pk=self.pk).values(*watched).first()
        if stored is None:
            return False
        return any(stored[name] != getattr(self, name) for name in watched)

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's HMAC of the password, with the credential version in it: an admin
        session here (and a token's `cred` claim) ends at any identity change."""
        return salted_hmac(
            "user_service.accounts.User.get_session_auth_hash",
            f"{self.password}:{self.credential_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()
