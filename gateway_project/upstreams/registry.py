"""Self-registration: instances announce themselves, heartbeat, and drop out when they stop.

An entry lives `ttl` seconds after its last heartbeat (three missed heartbeats by
default). In Redis (a hash per service) every gateway worker and replica sees the same
instances; without Redis the gateway runs one process and keeps them in memory.
Registration only accepts http(s) base URLs on hosts the operator allowed
(GATEWAY_REGISTRY_ALLOWED_HOSTS), so a leaked service token cannot point the gateway at
an arbitrary address.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from common.limits.shared_redis import SharedRedis
from common.upstreams.sources import base_url


@dataclass
class Registration:
    service: str
    instance_id: str
    url: str
    registered_at: float
    last_heartbeat: float


class RegistrationRefused(ValueError):
    """The URL is not one the gateway may send traffic to."""


def checked_base_url(url: str, allowed: Sequence[str]) -> str:
    """The normalised base URL, or RegistrationRefused saying why not."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistrationRefused("url must be an http(s) base URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise RegistrationRefused("url must not carry credentials, a query or a fragment")
    if parts.path.strip("/"):
        raise RegistrationRefused("url must be a base URL without a path")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise RegistrationRefused("url has an invalid port") from error
    if not host_allowed(parts.hostname, allowed):
        raise RegistrationRefused(
            f"host {parts.hostname!r} is not in GATEWAY_REGISTRY_ALLOWED_HOSTS"
        )
    return base_url(parts.scheme, parts.hostname, port)


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """An exact host name, an address, or an address inside an allowed network (CIDR)."""
    host = host.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (item.strip().lower() for item in allowed):
        if not entry:
            continue
        if entry == host:
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


class RegistryStore(Protocol):
    """Where registrations are kept: Redis (RedisRegistry) or memory (MemoryRegistry)."""

    def heartbeat(self, service: str, instance_id: str, url: str) -> Registration:
        """Register or renew an instance; a new URL starts a new registration."""
        ...

    def deregister(self, service: str, instance_id: str) -> bool:
        """Drop an instance; whether it was registered."""
        ...

    def live(self, service: str, ttl: float) -> list[Registration]:
        """The instances heard from in the last `ttl` seconds (the others are dropped)."""
        ...

    def reset(self) -> None: ...


class MemoryRegistry:
    """`clock` (seconds since the epoch) is for tests, as in RedisRegistry."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Registration]] = {}
        self._clock = clock

    def heartbeat(self, service: str, instance_id: str, url: str) -> Registration:
        now = self._clock()
        with self._lock:
            entries = self._entries.setdefault(service, {})
            previous = entries.get(instance_id)
            registered = previous.registered_at if previous and previous.url == url else now
            entry = entries[instance_id] = Registration(service, instance_id, url, registered, now)
            return entry

    def deregister(self, service: str, instance_id: str) -> bool:
        with self._lock:
            return self._entries.get(service, {}).pop(instance_id, None) is not None

    def live(self, service: str, ttl: float) -> list[Registration]:
        cutoff = self._clock() - ttl
        with self._lock:
            entries = self._entries.get(service, {})
            for key in [k for k, e in entries.items() if e.last_heartbeat < cutoff]:
                del entries[key]
            return list(entries.values())

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()


# KEYS[1] a service's hash; ARGV[1] the cutoff, ARGV[2..] instance ids read as expired.
# Deletes each whose last heartbeat is still before the cutoff.
_DROP_EXPIRED = """
local cutoff = tonumber(ARGV[1])
for i = 2, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw and cjson.decode(raw)['last_heartbeat'] < cutoff then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return 0
"""


class RedisRegistry:
    """One hash per service: instance id → the registration as JSON. The times are the
    gateway's (`clock`: seconds since the epoch)."""

    def __init__(self, redis: SharedRedis, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self._clock = clock

    @staticmethod
    def _key(service: str) -> str:
        return f"registry:{service}"

    def heartbeat(self, service: str, instance_id: str, url: str) -> Registration:
        """Read the instance's entry and write the new one as one compare-and-set (WATCH):
        two heartbeats at once cannot lose the first registration time."""
        now = self._clock()
        key = self.redis.key(self._key(service))

        def write(pipe: Any) -> Registration:
            raw = pipe.hget(key, instance_id)
            registered = now
            if raw:
                previous = json.loads(raw)
                if previous.get("url") == url:
                    registered = previous["registered_at"]
            entry = Registration(service, instance_id, url, registered, now)
            pipe.multi()
            pipe.hset(key, instance_id, json.dumps(asdict(entry)))
            return entry

        entry: Registration = self.redis.client.transaction(write, key, value_from_callable=True)
        return entry

    def deregister(self, service: str, instance_id: str) -> bool:
        return bool(self.redis.call("hdel", self._key(service), instance_id))

    def live(self, service: str, ttl: float) -> list[Registration]:
        cutoff = self._clock() - ttl
        entries: list[Registration] = []
        expired: list[Registration] = []
        for raw in self.redis.call("hgetall", self._key(service)).values():
            entry = Registration(**json.loads(raw))
            (entries if entry.last_heartbeat >= cutoff else expired).append(entry)
        if expired:
            # Only those still expired: a heartbeat since the read keeps its instance.
            self.redis.script(
                _DROP_EXPIRED,
                [self._key(service)],
                [repr(cutoff), *[e.instance_id for e in expired]],
            )
        return entries

    def reset(self) -> None:
        self.redis.delete_matching("registry:*")


class Registry:
    """Redis when configured, memory otherwise (and while Redis fails)."""

    def __init__(self, redis: SharedRedis | None) -> None:
        self.memory = MemoryRegistry()
        self.shared = RedisRegistry(redis) if redis is not None else None

    def _backend(self) -> MemoryRegistry | RedisRegistry:
        if self.shared is not None and self.shared.redis.available():
            return self.shared
        return self.memory

    def _run(self, method: str, *args: object) -> Any:
        backend = self._backend()
        if backend is self.memory or self.shared is None:  # (the latter: memory too)
            return getattr(self.memory, method)(*args)
        shared = self.shared
        try:
            return getattr(backend, method)(*args)
        except shared.redis.errors as error:
            shared.redis.failed(error)
            return getattr(self.memory, method)(*args)

    def heartbeat(self, service: str, instance_id: str, url: str) -> Registration:
        entry: Registration = self._run("heartbeat", service, instance_id, url)
        return entry

    def deregister(self, service: str, instance_id: str) -> bool:
        removed: bool = self._run("deregister", service, instance_id)
        return removed

    def live(self, service: str, ttl: float) -> list[Registration] | None:
        """The live registrations; None when Redis cannot say (keep what was known)."""
        if self.shared is None:
            return self.memory.live(service, ttl)
        if not self.shared.redis.available():
            return None
        try:
            return self.shared.live(service, ttl)
        except self.shared.redis.errors as error:
            self.shared.redis.failed(error)
            return None

    def reset(self) -> None:
        self.memory.reset()
        if self.shared is not None:
            self.shared.reset()
