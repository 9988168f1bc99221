"""Read-side queries of the user service."""

from __future__ import annotations

from user_service.accounts.models import User


def user_username_taken(*, username: str) -> bool:
    """Usernames are unique case-insensitively."""
    return User.objects.filter(username__iexact=username).exists()


def user_email_taken(*, email: str, exclude_pk: int | None = None) -> bool:
    """A non-empty email is unique case-insensitively; "" is never taken."""
    others = User.objects.filter(email__iexact=email).exclude(pk=exclude_pk)  # type: ignore[misc]
    return bool(email) and others.exists()


def user_by_username(*, username: str) -> User | None:
    """The account named exactly so (the internal status check), or None."""
    return User.objects.filter(username=username).first() if username else None
