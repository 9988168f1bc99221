"""The gateway's upstreams in this process: pools, breakers, registry, and the thread that
keeps them current (registry and DNS refresh, active /ready polls, instance gauges).

`upstreams()` is built on first use and rebuilt when the GATEWAY, COMMON or CACHES
setting changes (tests). The maintenance thread starts lazily in the process that serves
(a granian worker), never at import, so nothing runs in a parent that forks.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from http import HTTPStatus
from typing import Any, cast

from common.settings.namespaces import common_settings, on_settings_change, on_test_reset
from common.topology import UPSTREAMS
from common.upstreams import metrics
from common.upstreams.breaker import Breakers, BreakerSettings
from common.upstreams.pool import Instance, Readiness, ServicePool, membership
from common.upstreams.redis_store import redis_store
from common.upstreams.retry import RetryBudget
from common.upstreams.sources import DnsResolver, Resolution, addresses_of, parse_targets
from gateway_project.conf import gateway_settings, per_service
from gateway_project.transport.client import UpstreamError, exchange
from gateway_project.upstreams.bulkhead import Bulkhead, default_limit
from gateway_project.upstreams.registry import Registry

logger = logging.getLogger(__name__)


def balancer_for(service: str, spec: str) -> str:
    """GATEWAY_BALANCER: 'round_robin', or a default plus per-service overrides
    ('round_robin,products=least_request')."""
    return per_service(spec, service) or "round_robin"


def bulkhead_for(service: str, spec: str) -> int:
    """GATEWAY_BULKHEAD: the service's slots per worker ('3', 'orders=2', '3,orders=2')."""
    given = per_service(spec, service)
    return int(given) if given else default_limit()


class Upstreams:
    def __init__(self) -> None:
        gateway = gateway_settings
        self.config = gateway
        self.redis = redis_store(gateway.THROTTLE_BACKEND_RETRY_SECONDS)
        self.breakers = Breakers(
            BreakerSettings(
                failures=gateway.BREAKER_FAILURES,
                reset_seconds=gateway.BREAKER_RESET_SECONDS,
                trial_seconds=gateway.READ_TIMEOUT + gateway.CONNECT_TIMEOUT + 1,
            ),
            self.redis,
        )
        self.registry = Registry(self.redis)
        urls = common_settings.SERVICE_URLS
        self.targets = {service: parse_targets(urls[service]) for service in UPSTREAMS}
        self.pools = {
            service: ServicePool(
                service,
                balancer=balancer_for(service, gateway.BALANCER),
                breakers=self.breakers,
                eject_consecutive=gateway.EJECT_CONSECUTIVE,
                eject_base_seconds=gateway.EJECT_BASE_SECONDS,
                active_health=gateway.HEALTH_INTERVAL > 0,
            )
            for service in UPSTREAMS
        }
        self.budgets = {
            service: RetryBudget(gateway.RETRY_BUDGET, minimum=gateway.RETRY_BUDGET_MIN)
            for service in UPSTREAMS
        }
        self.bulkheads = {
            service: Bulkhead(
                service, bulkhead_for(service, gateway.BULKHEAD), gateway.BULKHEAD_WAIT
            )
            for service in UPSTREAMS
        }
        self._resolver: DnsResolver | None = None
        self._dns: dict[str, Resolution] = {}
        self._registrations: dict[str, list[Any]] = {service: [] for service in UPSTREAMS}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="upstream-ready")
        self.refresh()

    # -- membership ---------------------------------------------------------------------

    @property
    def resolver(self) -> DnsResolver:
        if self._resolver is None:
            self._resolver = DnsResolver(
                min_ttl=self.config.DNS_MIN_TTL,
                max_ttl=self.config.DNS_MAX_TTL,
                nameservers=self.config.DNS_NAMESERVERS,
            )
        return self._resolver

    def refresh(self) -> None:
        """Resolve the DNS names whose TTL ran out and read the registry; update pools."""
        ttl = self.config.REGISTRY_TTL
        for service, pool in self.pools.items():
            resolved = addresses_of(self.targets[service], self._dns, lambda: self.resolver)
            live = self.registry.live(service, ttl)
            if live is not None:
                self._registrations[service] = live
            pool.update(membership(self.targets[service], resolved, self._registrations[service]))
            for instance in pool.members():
                self.breakers.sync(instance.breaker_key)

    def pool(self, service: str) -> ServicePool:
        if self._thread is None:
            self._start()
        return self.pools[service]

    def current_pools(self) -> dict[str, ServicePool]:
        """Every pool, read afresh from the registry and DNS, for what the status pages
        show. A worker that has proxied nothing has no maintenance thread yet, and its
        pools date from its start or the last heartbeat it happened to take: with several
        workers another one may take every heartbeat, so an instance killed long past its
        TTL would stay listed. Reading here starts the thread too."""
        if self._thread is None:
            self._start()
        self.refresh()
        return self.pools

    # -- the maintenance thread ---------------------------------------------------------

    def _start(self) -> None:
        with self._thread_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="upstreams", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        interval = self.config.HEALTH_INTERVAL
        refresh_every = self.config.REGISTRY_REFRESH_SECONDS
        # The first /ready round at once: the registry may still list instances that
        # stopped without deregistering (within their TTL) when this worker starts.
        next_health = time.monotonic()
        while not self._stop.wait(refresh_every):
            try:
                self.refresh()
                if interval > 0 and time.monotonic() >= next_health:
                    next_health = time.monotonic() + interval
                    self.check_health()
                self.export_gauges()
            except Exception:  # the thread must outlive any one bad round
                logger.exception("upstream maintenance round failed")

    def check_health(self) -> None:
        """Every instance's /ready, in parallel, each bounded by the health timeout."""
        jobs = [
            (pool, instance, self._checks.submit(self.check_ready, instance))
            for pool in self.pools.values()
            for instance in pool.members()
        ]
        for pool, instance, job in jobs:
            pool.health_result(instance, job.result().ok)

    def check_ready(self, instance: Instance, request_id: str = "health-check") -> Readiness:
        """One /ready of `instance`, bounded by the health timeout; kept on the instance."""
        timeout = self.config.HEALTH_TIMEOUT
        started = time.perf_counter()
        try:
            answer = exchange(
                instance.url,
                "GET",
                "/ready",
                {"Accept": "application/json", "X-Request-ID": request_id},
                None,
                connect_timeout=timeout,
                read_timeout=timeout,
            )
            detail = None if answer.status == HTTPStatus.OK else f"/ready answered {answer.status}"
        except UpstreamError as error:
            detail = f"unreachable: {error.kind}"
        seconds = time.perf_counter() - started
        instance.readiness = Readiness(detail is None, detail, seconds, time.monotonic())
        return instance.readiness

    def readiness(self, service: str, request_id: str) -> Readiness:
        """Whether one of the service's instances is ready, as its pool last saw them.

        With active health on, the maintenance thread's recent polls answer; otherwise
        (off, or none recent yet) the instances are asked now, in order, until one is
        ready, and what they answer is kept the same way."""
        members = self.pool(service).members()
        config = self.config
        if config.HEALTH_INTERVAL > 0:
            oldest = time.monotonic() - (
                config.HEALTH_INTERVAL + config.REGISTRY_REFRESH_SECONDS + config.HEALTH_TIMEOUT
            )
            known = [instance.readiness for instance in members]
            if members and all(r is not None and r.at >= oldest for r in known):
                return _summary(cast(list[Readiness], known))  # none is None
        polled = []
        for instance in members:
            polled.append(self.check_ready(instance, request_id))
            if polled[-1].ok:
                break
        return _summary(polled)

    def export_gauges(self) -> None:
        for service, pool in self.pools.items():
            for state, count in pool.count_states().items():
                metrics.INSTANCES.labels(service, state).set(count)
            bulkhead = self.bulkheads[service]
            metrics.BULKHEAD_IN_FLIGHT.labels(service).set(bulkhead.in_flight)
            metrics.BULKHEAD_LIMIT.labels(service).set(bulkhead.limit)

    def stop(self) -> None:
        self._stop.set()
        self._checks.shutdown(wait=False)


def _summary(polls: list[Readiness]) -> Readiness:
    """A service's readiness from its instances': ready when one is; else the last reason."""
    seconds = sum(poll.seconds for poll in polls)
    at = min((poll.at for poll in polls), default=time.monotonic())
    if any(poll.ok for poll in polls):
        return Readiness(True, None, seconds, at)
    detail = polls[-1].detail if polls else "no instances known"
    return Readiness(False, detail, seconds, at)


@cache
def upstreams() -> Upstreams:
    return Upstreams()


@on_settings_change("GATEWAY", "COMMON", "CACHES")
def _rebuild() -> None:
    if upstreams.cache_info().currsize:
        upstreams().stop()
        upstreams.cache_clear()


@on_test_reset
def _forget_breakers_and_registrations() -> None:
    """Everywhere: this process's and Redis' (an earlier `upstreams()` may have left some)."""
    group = upstreams()
    group.breakers.reset()
    group.registry.reset()
    group.refresh()
