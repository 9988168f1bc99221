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

from common.conf import common_settings, on_settings_change
from common.topology import UPSTREAMS
from gateway_project.conf import gateway_settings
from gateway_project.upstreams import metrics
from gateway_project.upstreams.breaker import Breakers, BreakerSettings
from gateway_project.upstreams.pool import Instance, ServicePool, membership
from gateway_project.upstreams.redis_store import redis_store
from gateway_project.upstreams.registry import Registry
from gateway_project.upstreams.retry import RetryBudget
from gateway_project.upstreams.sources import DnsResolver, Resolution, parse_targets

logger = logging.getLogger(__name__)


def balancer_for(service: str, spec: str) -> str:
    """GATEWAY_BALANCER: 'round_robin', or a default plus per-service overrides
    ('round_robin,products=least_request')."""
    default = "round_robin"
    for entry in (part.strip() for part in spec.split(",")):
        name, sep, value = entry.partition("=")
        if sep and name.strip() == service:
            return value.strip()
        if not sep and entry:
            default = entry
    return default


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
        self._resolver: DnsResolver | None = None
        self._dns: dict[str, Resolution] = {}
        self._registrations: dict[str, list] = {service: [] for service in UPSTREAMS}
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
        now = time.monotonic()
        ttl = self.config.REGISTRY_TTL
        for service, pool in self.pools.items():
            resolved = {}
            for target in self.targets[service]:
                if target.kind != "dns":
                    continue
                known = self._dns.get(target.host)
                if known is None or known.expires <= now:
                    known = self._dns[target.host] = self.resolver.resolve(target.host)
                resolved[target.host] = known.addresses
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
            (pool, instance, self._checks.submit(self._ready, instance))
            for pool in self.pools.values()
            for instance in pool.members()
        ]
        for pool, instance, job in jobs:
            pool.health_result(instance, job.result())

    def _ready(self, instance: Instance) -> bool:
        from gateway_project.proxy.upstream import UpstreamError, exchange

        timeout = self.config.HEALTH_TIMEOUT
        try:
            answer = exchange(
                instance.url,
                "GET",
                "/ready",
                {"Accept": "application/json", "X-Request-ID": "health-check"},
                None,
                connect_timeout=timeout,
                read_timeout=timeout,
            )
        except UpstreamError:
            return False
        return answer.status == HTTPStatus.OK

    def export_gauges(self) -> None:
        for service, pool in self.pools.items():
            for state, count in pool.count_states().items():
                metrics.INSTANCES.labels(service, state).set(count)

    def stop(self) -> None:
        self._stop.set()
        self._checks.shutdown(wait=False)

    def reset_state(self) -> None:
        """Forget breakers and registrations everywhere (tests)."""
        self.breakers.reset()
        self.registry.reset()
        self.refresh()


@cache
def upstreams() -> Upstreams:
    return Upstreams()


@on_settings_change("GATEWAY", "COMMON", "CACHES")
def _reset() -> None:
    if upstreams.cache_info().currsize:
        upstreams().stop()
        upstreams.cache_clear()
