"""Each service's instances, their health, and which one serves the next request.

Instances from the three sources (static URLs, DNS names, the registry) merge into one
list per service, by URL. A request goes to a healthy instance whose breaker lets it
through, chosen round robin or by least requests (two random choices, the one with fewer
requests in flight: Envoy's power of two choices). An instance leaves the rotation when
it fails `EJECT_CONSECUTIVE` times in a row (passive health: connect failures, timeouts,
502/503/504) or fails its `/ready` poll (active health), for a time that grows with each
ejection; it comes back only once `/ready` answers 200 again. If every instance is
unhealthy the least recently failed one still gets the traffic (Envoy's panic mode)
rather than none. An open breaker is different: it fails fast, by design.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from common.upstreams import metrics
from common.upstreams.balancers import balancer_named
from common.upstreams.breaker import CLOSED, HALF_OPEN, OPEN, Breakers
from common.upstreams.sources import Target, base_url

logger = logging.getLogger(__name__)

MAX_EJECTION_MULTIPLIER = 8
STATS_WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Readiness:
    """An instance's last `/ready` answer: what /health reports and active health acts on."""

    ok: bool
    detail: str | None  # why not, when not ("/ready answered 503", "unreachable: ...")
    seconds: float  # how long the poll took
    at: float  # monotonic


@dataclass
class Instance:
    service: str
    url: str
    sources: set[str] = field(default_factory=set)
    last_heartbeat: float | None = None
    in_flight: int = 0
    consecutive_failures: int = 0
    ejections: int = 0
    ejected_until: float = 0.0  # monotonic; while ejected, also until /ready answers
    ejected: bool = False
    last_failure: float = 0.0  # monotonic, for panic routing
    readiness: Readiness | None = None  # the last /ready poll's
    outcomes: collections.deque[Any] = field(
        default_factory=lambda: collections.deque[Any](maxlen=512)
    )
    # Every worker thread shares the instance: `in_flight` changes under this lock only.
    _in_flight_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def request_started(self) -> None:
        """One more request in flight (least-request reads the count)."""
        with self._in_flight_lock:
            self.in_flight += 1

    def request_finished(self) -> None:
        with self._in_flight_lock:
            self.in_flight -= 1

    @property
    def id(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def breaker_key(self) -> str:
        return f"breaker:{self.service}:{self.id}"

    @property
    def source(self) -> str:
        return "+".join(sorted(self.sources))

    def observe(self, ok: bool, seconds: float) -> None:
        self.outcomes.append((time.monotonic(), ok, seconds))

    def recent(self) -> tuple[float, float | None]:
        """(error rate, p50 latency in ms) over the last minute in this process."""
        cutoff = time.monotonic() - STATS_WINDOW_SECONDS
        window = [(ok, seconds) for at, ok, seconds in list(self.outcomes) if at >= cutoff]
        if not window:
            return 0.0, None
        errors = sum(1 for ok, _ in window if not ok)
        latencies = sorted(seconds for _, seconds in window)
        return round(errors / len(window), 4), round(latencies[len(latencies) // 2] * 1000, 2)


@dataclass
class Pick:
    instance: Instance
    trial: bool  # this request is the breaker's one half-open trial


class ServicePool:
    """One service's instances in this process."""

    def __init__(
        self,
        service: str,
        *,
        balancer: str,
        breakers: Breakers,
        eject_consecutive: int,
        eject_base_seconds: float,
        active_health: bool,
    ) -> None:
        self.service = service
        self.balancer = balancer  # its name, as the status pages show it
        self.strategy = balancer_named(balancer)
        self.breakers = breakers
        self.eject_consecutive = eject_consecutive
        self.eject_base = eject_base_seconds
        self.active_health = active_health
        self.instances: dict[str, Instance] = {}
        self._lock = threading.Lock()
        self._panic_logged = float("-inf")

    # -- membership ---------------------------------------------------------------------

    def update(self, found: dict[str, dict[str, Any]]) -> None:
        """Replace the membership: url -> {sources, last_heartbeat}."""
        with self._lock:
            current = self.instances
            merged = {}
            for url, info in found.items():
                instance = current.get(url) or Instance(self.service, url)
                instance.sources = set(info["sources"])
                instance.last_heartbeat = info.get("last_heartbeat")
                merged[url] = instance
            self.instances = merged

    def members(self) -> list[Instance]:
        return sorted(self.instances.values(), key=lambda instance: instance.url)

    # -- choosing -----------------------------------------------------------------------

    def pick(self, exclude: AbstractSet[str] = frozenset()) -> Pick | None:
        """The instance for the next request, or None when every breaker is open."""
        candidates = [i for i in self.members() if i.url not in exclude]
        now = time.monotonic()
        while candidates:
            closed, trial_ready = [], []
            for instance in candidates:
                state, left = self.breakers.known_state(instance.breaker_key)
                if state == CLOSED:
                    closed.append(instance)
                elif left <= 0:
                    trial_ready.append(instance)
            # A breaker whose open time is over gets its one trial before anything else:
            # otherwise a recovered instance would wait behind healthy ones forever.
            for instance in trial_ready:
                verdict = self.breakers.allow(instance.breaker_key, self.service)
                if verdict == HALF_OPEN:
                    return Pick(instance, trial=True)
                if verdict == CLOSED:
                    closed.append(instance)
            if not closed:
                return None
            healthy = [i for i in closed if not self._is_ejected(i, now)]
            if healthy:
                return Pick(self._balance(healthy), trial=False)
            chosen = min(closed, key=lambda i: i.last_failure)
            self._panic(chosen)
            return Pick(chosen, trial=False)
        return None

    def _balance(self, healthy: list[Instance]) -> Instance:
        if len(healthy) == 1:
            return healthy[0]
        return self.strategy.choose(healthy)

    def _panic(self, instance: Instance) -> None:
        metrics.PANIC_ROUTING.labels(self.service).inc()
        now = time.monotonic()
        if now - self._panic_logged >= 10:
            self._panic_logged = now
            logger.error(
                "every %s instance is unhealthy: panic routing to the least recently failed, %s",
                self.service,
                instance.url,
                extra={"upstream_service": self.service, "panic": True},
            )

    def _is_ejected(self, instance: Instance, now: float) -> bool:
        if instance.ejected and not self.active_health and now >= instance.ejected_until:
            # No /ready polling to wait for: the ejection time alone brings it back.
            instance.ejected = False
            instance.consecutive_failures = 0
        return instance.ejected

    def retry_after(self) -> int:
        """Seconds until the first open breaker of this service may let a trial through."""
        waits = [self.breakers.known_state(i.breaker_key)[1] for i in self.members()]
        return max(1, int(min(waits, default=1.0) + 0.999))

    # -- outcomes -----------------------------------------------------------------------

    def record(self, pick: Pick, *, ok: bool, seconds: float) -> None:
        instance = pick.instance
        instance.observe(ok, seconds)
        self.breakers.record(instance.breaker_key, self.service, ok=ok, trial=pick.trial)
        if ok:
            instance.consecutive_failures = 0
            return
        instance.last_failure = time.monotonic()
        instance.consecutive_failures += 1
        if instance.consecutive_failures >= self.eject_consecutive and not instance.ejected:
            self.eject(instance, "consecutive failures")

    def eject(self, instance: Instance, reason: str) -> None:
        instance.ejections += 1
        multiplier = min(2 ** (instance.ejections - 1), MAX_EJECTION_MULTIPLIER)
        instance.ejected = True
        instance.ejected_until = time.monotonic() + self.eject_base * multiplier
        metrics.EJECTIONS.labels(self.service).inc()
        logger.warning(
            "%s instance %s ejected (%s) for at least %.0fs",
            self.service,
            instance.url,
            reason,
            self.eject_base * multiplier,
            extra={"upstream_service": self.service, "instance": instance.url},
        )

    def health_result(self, instance: Instance, ready: bool) -> None:
        """An active /ready poll: a failure ejects, a success readmits once the time is up."""
        if not ready:
            instance.last_failure = time.monotonic()
            if not instance.ejected:
                self.eject(instance, "/ready failed")
            return
        if instance.ejected and time.monotonic() >= instance.ejected_until:
            instance.ejected = False
            instance.consecutive_failures = 0
            logger.warning(
                "%s instance %s is back",
                self.service,
                instance.url,
                extra={"upstream_service": self.service, "instance": instance.url},
            )
        elif not instance.ejected and instance.ejections and instance.consecutive_failures == 0:
            instance.ejections = max(0, instance.ejections - 1)  # calm lowers the back-off

    def breaker_state(self, instance: Instance) -> str:
        return self.breakers.state_for_status(instance.breaker_key)

    def count_states(self) -> dict[str, int]:
        counts = {"healthy": 0, "ejected": 0, "breaker_open": 0}
        for instance in self.members():
            state, _ = self.breakers.known_state(instance.breaker_key)
            if state == OPEN:
                counts["breaker_open"] += 1
            elif instance.ejected:
                counts["ejected"] += 1
            else:
                counts["healthy"] += 1
        return counts


def membership(
    targets: list[Target], resolved: dict[str, list[str]], registrations: list[Any]
) -> dict[str, dict[str, Any]]:
    """url -> {sources, last_heartbeat} from the three sources."""
    found: dict[str, dict[str, Any]] = {}

    def add(url: str, source: str, **info: object) -> None:
        entry = found.setdefault(url, {"sources": set()})
        entry["sources"].add(source)
        entry.update(info)

    for target in targets:
        if target.kind == "static":
            add(target.url, "static")
        else:
            for address in resolved.get(target.host, []):
                add(base_url(target.scheme, address, target.port), "dns")
    for registration in registrations:
        add(registration.url, "registry", last_heartbeat=registration.last_heartbeat)
    return found
