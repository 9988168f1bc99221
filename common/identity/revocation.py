"""Access-token revocation at the edge: a per-user "not before", shared through Redis.

Access tokens are verified offline, so a logout or a password change would leave them
valid until they expire. The user service records the moment (in ms) of such an event
under an explicit shared key namespace (COMMON["SHARED_CACHE_PREFIX"]: the projects'
cache KEY_PREFIXes differ), and every verifier refuses tokens issued before it. The
entry lives as long as an access token can (after that, every older token is expired).

Without Redis the record is in this process's memory: it then protects only the process
that wrote it (the user service's own endpoints), not the gateway. With Redis down,
revocation fails open (logged): tokens are still refused at the user service by their
credential version, and expire on their own.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches

from common.limits.shared_redis import is_redis_cache
from common.settings.namespaces import common_settings

logger = logging.getLogger(__name__)

ISSUED_MS_CLAIM = "iat_ms"  # when the token was issued, in ms (iat has seconds only)
_local: dict[str, int] = {}
_local_lock = threading.Lock()
_down_until = [0.0]
# Verifiers remember an answer this long: revocation is effective within it.
LOOKUP_CACHE_SECONDS = 1.0
_looked_up: dict[str, tuple[float, int]] = {}


def _key(user_id: Any) -> str:
    return f"{common_settings.SHARED_CACHE_PREFIX}:revoked-before:{user_id}"


def _ttl_seconds() -> int:
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    return int(lifetime + settings.SIMPLE_JWT.get("LEEWAY", 0)) + 1


def _redis() -> Any | None:
    default = caches["default"]
    return default.client.get_client(write=True) if is_redis_cache(default) else None


def tokens_revoke_before(user_id: Any, *, at_ms: int | None = None) -> bool:
    """Refuse every access token of the user issued before now; False if not recorded."""
    at_ms = at_ms if at_ms is not None else int(time.time() * 1000)
    key = _key(user_id)
    client = _redis()
    if client is None:
        with _local_lock:
            _local[key] = max(at_ms, _local.get(key, 0))
        return True
    try:
        client.set(key, at_ms, ex=_ttl_seconds())
    except Exception as error:  # redis' errors, or OSError from the socket
        logger.error("token revocation for user %s not recorded: %s", user_id, error)
        return False
    # This process knows at once; the others within LOOKUP_CACHE_SECONDS.
    _looked_up[key] = (time.monotonic() + LOOKUP_CACHE_SECONDS, at_ms)
    return True


def _revoked_before(key: str) -> int:
    client = _redis()
    if client is None:
        return _local.get(key, 0)
    now = time.monotonic()
    cached = _looked_up.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    if now < _down_until[0]:
        return 0
    try:
        raw = client.get(key)
    except Exception as error:  # fail open: see the module docstring
        _down_until[0] = now + 1.0
        logger.warning("token revocation lookup failed: %s", error)
        return 0
    value = int(raw) if raw else 0
    if len(_looked_up) > 10_000:
        _looked_up.clear()
    _looked_up[key] = (now + LOOKUP_CACHE_SECONDS, value)
    return value


def token_is_revoked(payload: dict[str, Any]) -> bool:
    """Whether the token was issued before its user's last logout or password change."""
    user_id = payload.get("user_id")
    if user_id is None:
        return False
    issued = payload.get(ISSUED_MS_CLAIM)
    if not isinstance(issued, int):
        iat = payload.get("iat")
        issued = int(iat) * 1000 if isinstance(iat, int | float) else 0
    return issued < _revoked_before(_key(user_id))


def forget_lookups() -> None:
    """Tests: drop remembered answers, as LOOKUP_CACHE_SECONDS later."""
    _looked_up.clear()
    _down_until[0] = 0.0


def revocations_reset() -> None:
    """Tests: forget this process's local records too."""
    forget_lookups()
    with _local_lock:
        _local.clear()
