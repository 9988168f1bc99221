"""A consumer (an application calling the API) and its API keys."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from common.settings.namespaces import parse_rate

QUOTA_PERIODS = (("day", "per day (UTC)"), ("month", "per month (UTC)"))


class Consumer(models.Model):
    name = models.CharField(max_length=100)
    # The user of the user service it belongs to; the services see its calls as theirs.
    owner_id = models.PositiveBigIntegerField(db_index=True)
    description = models.TextField(blank=True, default="")
    # Its own rate limit ("100/min"); blank: GATEWAY_RATE_CONSUMER.
    rate = models.CharField(max_length=32, blank=True, default="")
    # Requests per quota period; null: no quota.
    quota = models.PositiveIntegerField(null=True, blank=True)
    quota_period = models.CharField(max_length=8, choices=QUOTA_PERIODS, default="day")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=("owner_id", "name"), name="consumer_unique_owner_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} (user {self.owner_id})"

    def clean(self) -> None:
        """A rate DRF's syntax reads ('100/min'), wherever the consumer is changed (the
        API, the admin's form)."""
        if self.rate:
            try:
                parse_rate(self.rate)
            except ValueError as error:
                raise ValidationError({"rate": str(error)}) from error


class ApiKey(models.Model):
    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="keys")
    # The public part: shown in logs and the admin, and how a key is found.
    prefix = models.CharField(max_length=16, unique=True)
    # HMAC-SHA256 of the whole key with the gateway's key secret (keys.py); never the key.
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(fields=("consumer",), condition=Q(revoked_at=None), name="apikey_active")
        ]

    def __str__(self) -> str:
        return self.prefix

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
