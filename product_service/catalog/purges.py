"""Delivering the catalog's cache purges so that none is lost.

With Redis, the gateway's response cache lives there (shared by every gateway replica, and
surviving a gateway restart), so the purge is run there, by this service, with the
gateway's own script and key names (common.limits.response_cache_keys): no gateway needs
to be up for it. Without Redis the gateway keeps its answers in its one process's memory,
and the purge is sent to it (`POST /internal/cache/purge`).

A purge that does not land (the gateway unreachable or answering an error, Redis
unreachable from here) is kept by this process's sender and tried again, RETRY_FIRST
seconds later, then twice as long each time up to RETRY_MOST, until it lands: no purge is
dropped while the process lives. An outage is logged when it begins and when it ends,
never once per try.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from functools import cache

from common.identity.auth import own_service_token
from common.identity.service_client import ServiceClient, ServiceUnavailable
from common.limits.response_cache_keys import (
    ResponseCacheKeys,
    response_cache_purge,
    shared_namespace,
)
from common.limits.shared_redis import SharedRedis
from common.limits.state import redis_cache
from common.settings.namespaces import common_settings, on_settings_change, on_test_reset

logger = logging.getLogger(__name__)

# The gateway call's own bounds (connect, read), in seconds.
PURGE_TIMEOUT = (0.5, 5.0)
MAX_KEYS_PER_PURGE = 100  # what the gateway accepts in one call
# Between two tries of a purge that did not land: from this, doubling, up to RETRY_MOST.
RETRY_FIRST = 0.1
RETRY_MOST = 2.0
# After Redis failed here, writers skip it this long (the sender's back-off tries it).
REDIS_RETRY_SECONDS = 1.0


class PurgeNotDelivered(Exception):
    """The purge did not land, for the reason given: the sender keeps it and tries again."""


@cache
def purge_redis() -> SharedRedis | None:
    """The Redis the gateway's response cache lives in, when this service's cache is
    django-redis (the deployments give every project one REDIS_URL); else None."""
    found = redis_cache()
    return None if found is None else SharedRedis(found, retry_seconds=REDIS_RETRY_SECONDS)


on_settings_change("CACHES")(purge_redis.cache_clear)


def purge_in_redis(redis: SharedRedis, keys: list[str]) -> None:
    """Purge the keys where the gateway's cache lives, as the gateway's own purge would."""
    names = ResponseCacheKeys(shared_namespace())
    redis.guarded(lambda: response_cache_purge(redis, names, keys), PurgeNotDelivered)


def purge_at_gateway(keys: list[str]) -> None:
    """POST the keys to the gateway (at most MAX_KEYS_PER_PURGE: what it accepts).

    Over every gateway instance GATEWAY_INTERNAL_URL names, as any service call; the
    client does not log each failed try (the sender logs once per outage)."""
    try:
        answer = _gateway_client().post("/internal/cache/purge", json={"keys": keys})
    except ServiceUnavailable as error:  # ServiceTimeout included
        raise PurgeNotDelivered(f"gateway unreachable ({type(error).__name__})") from error
    if answer.status_code == 400:  # the keys themselves are refused: no try will land
        logger.error("cache purge of %s refused by the gateway: %s", keys, answer.text[:200])
    elif answer.status_code != 200:
        raise PurgeNotDelivered(f"gateway answered {answer.status_code}")


def purge_deliver(keys: list[str]) -> None:
    """Purge where the cache is: Redis when this service has it, else the gateway (when
    one is configured: without either there is no cache to purge)."""
    redis = purge_redis()
    if redis is not None:
        purge_in_redis(redis, keys)
    elif common_settings.GATEWAY_INTERNAL_URL:
        purge_at_gateway(keys)


@cache
def _gateway_client() -> ServiceClient:
    connect, read = PURGE_TIMEOUT
    return ServiceClient(
        "gateway",
        common_settings.GATEWAY_INTERNAL_URL,
        service_token=own_service_token(),
        connect_timeout=connect,
        read_timeout=read,
        pool_size=4,
        log_failures=False,
    )


on_settings_change("COMMON")(_gateway_client.cache_clear)


class PurgeSender:
    """One thread delivering the purges of this process. Keys queued while it is busy go
    out together, and every writer waiting on them is told when that try is over; keys
    that did not land stay queued for the next try, after the back-off."""

    def __init__(
        self,
        deliver: Callable[[list[str]], None] = purge_deliver,
        *,
        first: float = RETRY_FIRST,
        most: float = RETRY_MOST,
    ) -> None:
        self._deliver = deliver
        self._first, self._most = first, most
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}
        self._in_try: list[str] = []  # taken by the try under way, not delivered yet
        self._done: list[threading.Event] = []
        self._wake = threading.Event()
        self._delay = 0.0  # the back-off now; 0 while purges land
        self._next_try = 0.0  # (monotonic) no try before this
        self._failing_since: float | None = None
        self._generation = 0  # moved by forget(): a try begun before it changes nothing
        self._trying = threading.Lock()  # held by the thread during a try
        threading.Thread(target=self._run, name="cache-purge", daemon=True).start()

    def send(self, keys: list[str]) -> threading.Event:
        """Queue `keys`; the event is set once a try of them is over. While purges fail it
        is set at once: the keys are kept, and the writer need not wait for a try that is
        seconds away."""
        done = threading.Event()
        with self._lock:
            self._pending.update(dict.fromkeys(keys))
            if keys and self._failing_since is None:
                self._done.append(done)
            else:
                done.set()
        self._wake.set()
        return done

    def keep(self, keys: list[str], reason: str) -> None:
        """Keys whose purge failed elsewhere (a writer's own try in Redis): tried again
        after the back-off."""
        with self._lock:
            self._pending.update(dict.fromkeys(keys))
            began = self._failed()
        if began:
            _log_outage(keys, reason)
        self._wake.set()

    def pending(self) -> list[str]:
        """The keys not delivered yet: waiting, or in the try under way."""
        with self._lock:
            return list(dict.fromkeys([*self._in_try, *self._pending]))

    def forget(self) -> None:
        """Tests: drop what is queued and the back-off, as a new process would start, once
        a try under way is over (so none reaches out after a test's fake is gone)."""
        with self._lock:
            self._generation += 1
            self._pending.clear()
            self._in_try = []
            done, self._done = self._done, []
            self._delay, self._next_try, self._failing_since = 0.0, 0.0, None
        for event in done:
            event.set()
        if self._trying.acquire(timeout=10):
            self._trying.release()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._wait_seconds())
            with self._trying:
                taken = self._take()
                if taken is None:
                    continue
                generation, keys, done = taken
                undelivered, reason = self._deliver_all(keys)
                self._settle(generation, undelivered, reason)
            for event in done:
                event.set()

    def _wait_seconds(self) -> float | None:
        """Until the next try: none is due without pending keys."""
        with self._lock:
            if not self._pending:
                return None
            return max(0.0, self._next_try - time.monotonic())

    def _take(self) -> tuple[int, list[str], list[threading.Event]] | None:
        """What to try now, or None (nothing queued, or the back-off is not over)."""
        with self._lock:
            self._wake.clear()
            if not self._pending or time.monotonic() < self._next_try:
                return None
            keys, self._pending = list(self._pending), {}
            self._in_try = keys
            done, self._done = self._done, []
            return self._generation, keys, done

    def _deliver_all(self, keys: list[str]) -> tuple[list[str], str]:
        """Deliver in chunks; the keys not delivered (from the first chunk that failed on)
        and why."""
        for start in range(0, len(keys), MAX_KEYS_PER_PURGE):
            try:
                self._deliver(keys[start : start + MAX_KEYS_PER_PURGE])
            except PurgeNotDelivered as error:
                return keys[start:], str(error)
            except Exception as error:  # the thread must outlive any one purge
                return keys[start:], f"{type(error).__name__}: {error}"
        return [], ""

    def _settle(self, generation: int, undelivered: list[str], reason: str) -> None:
        """Queue again what did not land (ahead of what came meanwhile), or end an outage."""
        began, lasted = False, None
        with self._lock:
            self._in_try = []
            if generation != self._generation:
                return
            if undelivered:
                self._pending = {**dict.fromkeys(undelivered), **self._pending}
                began = self._failed()
            else:
                lasted = self._recovered()
        if began:
            _log_outage(undelivered, reason)
        elif lasted is not None:
            logger.warning("cache purges delivered again, after %.1f s of failures", lasted)

    def _failed(self) -> bool:
        """(Under the lock.) Back off further; whether this failure began an outage."""
        began = self._failing_since is None
        self._delay = self._first if began else min(self._most, self._delay * 2)
        self._next_try = time.monotonic() + self._delay
        if began:
            self._failing_since = time.monotonic()
        return began

    def _recovered(self) -> float | None:
        """(Under the lock.) End the back-off; how long the outage lasted, if there was one."""
        since, self._failing_since = self._failing_since, None
        self._delay, self._next_try = 0.0, 0.0
        return None if since is None else time.monotonic() - since


def _log_outage(keys: list[str], reason: str) -> None:
    logger.error("cache purge of %s failed: %s; kept, and tried again until it lands", keys, reason)


_senders: dict[int, PurgeSender] = {}
_senders_lock = threading.Lock()


def purge_sender() -> PurgeSender:
    """This process's sender (a forked worker starts its own)."""
    pid = os.getpid()
    with _senders_lock:
        if pid not in _senders:
            _senders[pid] = PurgeSender()
        return _senders[pid]


@on_test_reset
def _forget_pending_purges() -> None:
    """No purge queued by one test is tried during the next."""
    sender = _senders.get(os.getpid())
    if sender is not None:
        sender.forget()
    purge_redis.cache_clear()
