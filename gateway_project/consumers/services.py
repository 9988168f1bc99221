"""The rules for consumers and their keys (the admin and the API both call these)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import APIException

from gateway_project.consumers.keys import digest_of, new_key
from gateway_project.consumers.models import ApiKey, Consumer
from gateway_project.routing.table import routes

MAX_ACTIVE_KEYS = 2  # the one in use and its successor, while a key rotates


class ExpiryPassed(APIException):
    """A key that would be expired when made: a valid date that is no longer in the
    future (the conflict is with the clock, as the schema cannot say)."""

    status_code = 409
    default_detail = "expires_at is past: a key must expire in the future."
    default_code = "expiry_passed"
    problem_type = "expiry-passed"


class KeyLimitReached(APIException):
    status_code = 409
    default_detail = (
        f"This consumer already has {MAX_ACTIVE_KEYS} active keys: revoke one before making "
        "another."
    )
    default_code = "key_limit_reached"
    problem_type = "key-limit-reached"


def known_scopes() -> list[str]:
    """Every scope the route table names (what a key may be given)."""
    return sorted({scope for route in routes() for scope in route.keys.values()})


def scopes_check(scopes: list[str]) -> None:
    unknown = sorted(set(scopes) - set(known_scopes()))
    if unknown:
        raise ValidationError(
            {"scopes": f"unknown scopes {unknown}; the routes name {known_scopes()}"}
        )


def consumer_create(
    *,
    owner_id: int,
    name: str,
    description: str = "",
    rate: str = "",
    quota: int | None = None,
    quota_period: str = "day",
) -> Consumer:
    consumer = Consumer(
        owner_id=owner_id,
        name=name,
        description=description,
        rate=rate,
        quota=quota,
        quota_period=quota_period,
    )
    consumer.full_clean()
    consumer.save()
    return consumer


def key_create(
    *, consumer: Consumer, scopes: list[str], expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key of `consumer` and the key itself, which is never shown again."""
    scopes_check(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ExpiryPassed()
    raw, prefix = new_key()
    with transaction.atomic():
        # One writer at a time per consumer, so two requests cannot both take the last slot.
        Consumer.objects.select_for_update().filter(pk=consumer.pk).first()
        if consumer.keys.filter(revoked_at=None).count() >= MAX_ACTIVE_KEYS:
            raise KeyLimitReached()
        key = ApiKey.objects.create(
            consumer=consumer,
            prefix=prefix,
            digest=digest_of(raw),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
    return key, raw


def key_revoke(*, key: ApiKey) -> ApiKey:
    """Revoked at once in the database; every gateway worker stops accepting it within
    gateway_project.consumers.keys.CACHE_SECONDS. Revoking twice changes nothing."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key
