"""Calls from one service to another, over the same discovery, balancing, breakers and
retry rules as the gateway's (common.upstreams): one client per service and process.

The service's URL variable may name several instances and `dns+http://` names, as at the
gateway; each call goes to a healthy instance whose breaker lets it through, round robin.
An instance that fails `SERVICE_CALL_FAILURES` times in a row (no connection, timeout,
502/503/504) is ejected for `SERVICE_CALL_EJECT_SECONDS` (doubling on each ejection) and
its breaker opens for `SERVICE_CALL_RESET_SECONDS` (shared by the caller's workers and
replicas in Redis, memory without it); every instance out, the least recently failed one
still gets the call. A call is sent again, once, to another instance only when nothing
was sent (no connection), or when it may be sent twice: an idempotent method, an
`Idempotency-Key` header, or a caller that says its call carries its own key
(`idempotent=True`: a reservation names its order); the answer then says how many
copies went unanswered (`response.copies_unanswered`: they may still be acted on).

Every call carries the request id and traceparent of the request being served, and this
project's own service token (common.identity.auth.own_service_token); failures surface as
DRF exceptions (503 with Retry-After, 504) that the caller may catch to compensate.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from rest_framework.exceptions import APIException
from urllib3.exceptions import NewConnectionError

from common.identity.auth import SERVICE_TOKEN_HEADER, own_service_token
from common.observability import tracing
from common.observability.context import request_id_var, traceparent_var
from common.settings.namespaces import common_settings, on_settings_change, on_test_reset
from common.upstreams.breaker import Breakers, BreakerSettings
from common.upstreams.pool import ServicePool, membership
from common.upstreams.redis_store import redis_store
from common.upstreams.retry import (
    FAILURE_STATUSES,
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    RetryBudget,
    another_attempt,
)
from common.upstreams.sources import DnsResolver, Resolution, addresses_of, parse_targets

logger = logging.getLogger(__name__)

# As at the gateway: retries may add a fifth of a service's calls, plus three.
RETRY_BUDGET, RETRY_BUDGET_MIN = 0.2, 3
DNS_MIN_TTL, DNS_MAX_TTL = 1.0, 30.0


class ServiceUnavailable(APIException):
    status_code = 503
    default_detail = "A service this request depends on is unavailable; try again shortly."
    default_code = "service_unavailable"
    wait = 5  # seconds; DRF sends it as Retry-After

    def __init__(self, detail: str | None = None, *, service: str = "") -> None:
        super().__init__(detail)
        self.service = service


class ServiceTimeout(ServiceUnavailable):
    status_code = 504
    default_detail = "A service this request depends on did not answer in time."
    default_code = "service_timeout"


class ServiceInstances:
    """One service's instances as this process calls them: the pool, its breakers and
    retry budget, and the DNS answers behind `dns+` entries (resolved again on their TTL,
    when a call finds them due)."""

    def __init__(
        self,
        name: str,
        urls: str,
        *,
        failures: int,
        eject_seconds: float,
        reset_seconds: float,
        trial_seconds: float,
    ) -> None:
        self.name = name
        self.targets = parse_targets(urls)
        self.breakers = Breakers(
            BreakerSettings(
                failures=failures, reset_seconds=reset_seconds, trial_seconds=trial_seconds
            ),
            redis_store(1.0),
        )
        self.pool = ServicePool(
            name,
            balancer="round_robin",
            breakers=self.breakers,
            eject_consecutive=failures,
            eject_base_seconds=eject_seconds,
            active_health=False,
        )
        self.budget = RetryBudget(RETRY_BUDGET, minimum=RETRY_BUDGET_MIN)
        self._dns: dict[str, Resolution] = {}
        self._resolver: DnsResolver | None = None
        self._due = 0.0
        self._lock = threading.Lock()
        self.refresh()

    def _dns_resolver(self) -> DnsResolver:
        if self._resolver is None:
            self._resolver = DnsResolver(min_ttl=DNS_MIN_TTL, max_ttl=DNS_MAX_TTL, nameservers=[])
        return self._resolver

    def refresh(self) -> None:
        """The membership afresh when a DNS answer is due (static lists never are)."""
        if time.monotonic() < self._due:
            return
        with self._lock:
            resolved = addresses_of(self.targets, self._dns, self._dns_resolver)
            self.pool.update(membership(self.targets, resolved, []))
            expiries = [answer.expires for answer in self._dns.values()]
            self._due = min(expiries, default=float("inf"))


class ServiceClient:
    """A `requests.Session` for one service's instances (`urls`: its URL variable's value),
    with sane timeouts."""

    def __init__(
        self,
        name: str,
        urls: str,
        *,
        service_token: str,
        connect_timeout: float = 1.0,
        read_timeout: float = 5.0,
        pool_size: int = 16,
        failures: int = 5,
        eject_seconds: float = 10.0,
        reset_seconds: float = 10.0,
        log_failures: bool = True,
    ) -> None:
        self.name = name
        # Off for a caller that logs an outage once itself (the cache purges' sender).
        self.log_failures = log_failures
        self.timeout = (connect_timeout, read_timeout)
        self.instances = ServiceInstances(
            name,
            urls,
            failures=failures,
            eject_seconds=eject_seconds,
            reset_seconds=reset_seconds,
            trial_seconds=connect_timeout + read_timeout + 1,
        )
        self.session = requests.Session()
        # Proxy settings from the environment are re-read on every call otherwise.
        self.session.trust_env = False
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers[SERVICE_TOKEN_HEADER] = service_token

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
        idempotent: bool = False,
    ) -> requests.Response:
        """Send the call to an instance (one retry on another where it may be sent twice);
        connection failures and open breakers → ServiceUnavailable, timeouts →
        ServiceTimeout."""
        instances = self.instances
        instances.refresh()
        pool, budget = instances.pool, instances.budget
        may_resend = (
            idempotent or method in IDEMPOTENT_METHODS or "Idempotency-Key" in (headers or {})
        )
        budget.request()
        tried: set[str] = set()
        kept: requests.Response | None = None
        failure: ServiceUnavailable | None = None
        unanswered = 0  # earlier attempts that may have reached an instance, unanswered
        while True:
            pick = pool.pick(exclude=tried)
            if pick is None:
                if kept is not None:
                    kept.copies_unanswered = unanswered  # type: ignore[attr-defined]
                    return kept
                if failure is not None:
                    raise failure
                refused = ServiceUnavailable(service=self.name)
                refused.wait = pool.retry_after()
                logger.log(
                    logging.WARNING if self.log_failures else logging.DEBUG,
                    "%s %s %s: every breaker is open",
                    self.name,
                    method,
                    path,
                )
                raise refused
            instance = pick.instance
            tried.add(instance.url)
            started = time.perf_counter()
            instance.request_started()
            try:
                response = self._send(
                    method, f"{instance.url}/{path.lstrip('/')}", json, params, headers, timeout
                )
            except requests.RequestException as error:
                pool.record(pick, ok=False, seconds=time.perf_counter() - started)
                failure = self._failure(method, path, instance.url, error)
                resend = may_resend or _nothing_sent(error)
                reason = "connect" if _nothing_sent(error) else "timeout"
                unanswered += reason != "connect"
                if resend and another_attempt(
                    self.name, len(pool.instances), tried, budget, reason
                ):
                    continue
                raise failure from error
            finally:
                instance.request_finished()
            elapsed = time.perf_counter() - started
            pool.record(pick, ok=response.status_code not in FAILURE_STATUSES, seconds=elapsed)
            if (
                response.status_code in RETRY_STATUSES
                and may_resend
                and another_attempt(self.name, len(pool.instances), tried, budget, "status")
            ):
                kept = response
                continue
            # What the caller must know of a resent call: a copy that reached an instance
            # and got no answer may still be acted on there, after this answer.
            response.copies_unanswered = unanswered  # type: ignore[attr-defined]
            logger.debug(
                "%s %s %s -> %s",
                self.name,
                method,
                path,
                response.status_code,
                extra={"upstream_ms": round(elapsed * 1000, 2), "instance": instance.url},
            )
            return response

    def _send(
        self,
        method: str,
        url: str,
        json: Any,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        timeout: float | tuple[float, float] | None,
    ) -> requests.Response:
        with tracing.span(f"{method} {self.name}", **{"peer.service": self.name}):
            outgoing = {"X-Request-ID": request_id_var.get()}
            if traceparent := traceparent_var.get():  # inside the span: it names it
                outgoing["traceparent"] = traceparent
            outgoing.update(headers or {})
            return self.session.request(
                method,
                url,
                json=json,
                params=params,
                headers=outgoing,
                timeout=timeout or self.timeout,
            )

    def _failure(
        self, method: str, path: str, url: str, error: requests.RequestException
    ) -> ServiceUnavailable:
        timed_out = isinstance(error, requests.Timeout)
        logger.log(
            logging.WARNING if self.log_failures else logging.DEBUG,
            "%s %s %s at %s %s: %s",
            self.name,
            method,
            path,
            url,
            "timed out" if timed_out else "failed",
            error,
        )
        return (ServiceTimeout if timed_out else ServiceUnavailable)(service=self.name)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


def _nothing_sent(error: requests.RequestException) -> bool:
    """No connection was made, so the request never left: any method may go elsewhere."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)


_clients: dict[str, ServiceClient] = {}
_clients_lock = threading.Lock()


def client_for(name: str) -> ServiceClient:
    """The process-wide client for a service named in common.topology."""
    client = _clients.get(name)
    if client is None:
        with _clients_lock:
            client = _clients.get(name)
            if client is None:
                client = _clients[name] = ServiceClient(
                    name,
                    common_settings.SERVICE_URLS[name],
                    service_token=own_service_token(),
                    connect_timeout=common_settings.HTTP_CONNECT_TIMEOUT,
                    read_timeout=common_settings.HTTP_READ_TIMEOUT,
                    failures=common_settings.SERVICE_CALL_FAILURES,
                    eject_seconds=common_settings.SERVICE_CALL_EJECT_SECONDS,
                    reset_seconds=common_settings.SERVICE_CALL_RESET_SECONDS,
                )
    return client


@on_settings_change("COMMON", "CACHES")
def _forget_clients() -> None:
    _clients.clear()


@on_test_reset
def _forget_instances() -> None:
    """Every client's breakers (in Redis too) and ejections: a test starts with none."""
    for client in list(_clients.values()):
        client.instances.breakers.reset()
    _clients.clear()
