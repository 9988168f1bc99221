"""API keys: how they are made, stored, found and checked.

A key is `gwk_<prefix>_<secret>`: 8 hex characters that name it in logs and the admin,
and 32 random bytes. The gateway stores the prefix and an HMAC-SHA256 of the whole key
under its key secret (GATEWAY_API_KEY_SECRET, else one derived from its SECRET_KEY), so
a leaked database holds no usable key and a check costs microseconds, not an Argon2
hash. Each worker remembers what a key's lookup found (usable or not) for
CACHE_SECONDS: a revocation or expiry reaches every worker and replica within that,
since they all read the one gateway database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.utils import timezone
from django.utils.crypto import salted_hmac

from common.settings.namespaces import on_settings_change, on_test_reset
from gateway_project.conf import gateway_settings

KEY_PATTERN = re.compile(r"gwk_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
CACHE_SECONDS = 0.5  # a revoked key stops everywhere within this (the promise is 1 s)
MAX_REMEMBERED = 10_000


def new_key() -> tuple[str, str]:
    """A new key and its prefix."""
    prefix = secrets.token_hex(4)
    return f"gwk_{prefix}_{secrets.token_urlsafe(32)}", prefix


def prefix_of(raw: str) -> str | None:
    """The prefix of something shaped like a key, else None."""
    match = KEY_PATTERN.fullmatch(raw)
    return match.group(1) if match else None


@cache
def key_secret() -> bytes:
    if configured := gateway_settings.API_KEY_SECRET:
        return configured.encode()
    return salted_hmac("gateway.consumers.api-keys", "key-secret", algorithm="sha256").digest()


on_settings_change("GATEWAY")(key_secret.cache_clear)


def digest_of(raw: str) -> str:
    return hmac.new(key_secret(), raw.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KeyHolder:
    """Who calls with a usable key: request.user at the gateway for that request."""

    key_id: int
    prefix: str
    consumer_id: int
    consumer_name: str
    owner_id: int
    scopes: frozenset[str]
    rate: str
    quota: int | None
    quota_period: str
    expires_at: datetime | None

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    @property
    def pk(self) -> str:
        return f"consumer:{self.consumer_id}"

    def usable(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


def holder_for(raw: str) -> KeyHolder | None:
    """The holder of a usable key, read from the database (None for anything else)."""
    from gateway_project.consumers.models import ApiKey

    prefix = prefix_of(raw)
    if prefix is None:
        return None
    key = ApiKey.objects.select_related("consumer").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.digest, digest_of(raw)):
        return None
    if not key.is_usable() or not key.consumer.is_active:
        return None
    consumer = key.consumer
    return KeyHolder(
        key_id=key.pk,
        prefix=key.prefix,
        consumer_id=consumer.pk,
        consumer_name=consumer.name,
        owner_id=consumer.owner_id,
        scopes=frozenset(key.scopes),
        rate=consumer.rate,
        quota=consumer.quota,
        quota_period=consumer.quota_period,
        expires_at=key.expires_at,
    )


class KeyCache:
    """What each key's lookup found, per worker, for CACHE_SECONDS; keyed by the key's
    digest, so the keys themselves are not kept. `clock` (seconds) is for tests."""

    def __init__(
        self,
        load: Callable[[str], KeyHolder | None] = holder_for,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._now = clock
        self._lock = threading.Lock()
        self._found: dict[str, tuple[float, KeyHolder | None]] = {}

    def find(self, raw: str) -> KeyHolder | None:
        digest = digest_of(raw)
        now = self._now()
        remembered = self._found.get(digest)
        if remembered is not None and remembered[0] > now:
            holder = remembered[1]
        else:
            holder = self._load(raw)
            with self._lock:
                if len(self._found) >= MAX_REMEMBERED:
                    self._found.clear()
                self._found[digest] = (now + CACHE_SECONDS, holder)
        if holder is not None and not holder.usable(timezone.now()):
            return None
        return holder

    def forget(self) -> None:
        with self._lock:
            self._found.clear()


key_cache = KeyCache()
on_test_reset(key_cache.forget)
