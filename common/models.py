"""The one table common adds to every project: window counters when there is no Redis."""

from __future__ import annotations

from django.db import models


class WindowCount(models.Model):
    """A fixed window of common.limits.counters.DatabaseWindowCounter, updated in one SQL upsert."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_ms = models.BigIntegerField(db_index=True)

    class Meta:
        verbose_name = "window count"

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
