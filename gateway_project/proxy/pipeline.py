"""A proxied request, stage by stage: the gateway's pipeline in the order a request meets it.

1. identify: `ProxyView.perform_authentication` (proxy/authentication.py: the access token
   verified offline, revocation checked).
2. limit: `ProxyView.check_throttles` (proxy/throttling.py, counted before the route's
   policy so guessing tokens is limited too), then the route's policy and the body's size.
3. cache lookup: `response_cache.lookup` (a HIT answers here).
4. pick instance: the service's pool (gateway_project.upstreams: health, breakers, balancer).
5. forward: `transport.client.exchange`, one retry on another instance within the budget.
6. record: `record`, once the answer is final (ProxyFastPathMiddleware calls it).
7. cache store: `response_cache.after_upstream` (store, invalidate, X-Cache).

The view (proxy/views.py) runs 1 and 2, then `proxy_request` 3, 4, 5 and 7; the fast-path
middleware (proxy/middleware.py) times the whole and runs 6.
"""

from __future__ import annotations

import logging
import time
from typing import cast

from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from rest_framework.exceptions import APIException

from common.http.middleware import access_log
from common.identity.auth import (
    CONSUMER_ID_HEADER,
    CONSUMER_NAME_HEADER,
    CONSUMER_OWNER_HEADER,
    CONSUMER_SCOPES_HEADER,
    SERVICE_TOKEN_HEADER,
    own_service_token,
)
from common.identity.service_client import ServiceTimeout, ServiceUnavailable
from common.observability import tracing
from common.upstreams.pool import ServicePool
from common.upstreams.retry import (
    FAILURE_STATUSES,
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    RetryBudget,
    another_attempt,
)
from gateway_project import response_cache
from gateway_project.consumers.keys import KeyHolder
from gateway_project.observability import record as records
from gateway_project.routing.table import Route
from gateway_project.transport.client import (
    Answer,
    UpstreamBroken,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    exchange,
)
from gateway_project.transport.forwarding import response_from, upstream_request_headers
from gateway_project.upstreams.discovery import Upstreams, upstreams

logger = logging.getLogger(__name__)


class BadGateway(APIException):
    """502: the service's connection ended without a complete HTTP answer; the detail
    says how (reset, closed without answering, not HTTP)."""

    status_code = 502
    default_detail = "The service answered with something that is not HTTP."
    default_code = "bad_gateway"

    def __init__(self, service: str, what: str) -> None:
        super().__init__(f"The {service} service {what}.")
        self.problem_extra = {"service": service}


class CircuitOpen(ServiceUnavailable):
    default_detail = (
        "The service is failing and the gateway is not sending it requests for a moment; "
        "try again shortly."
    )
    default_code = "circuit_open"
    problem_type = "circuit-open"


class BulkheadFull(ServiceUnavailable):
    default_code = "bulkhead_full"
    problem_type = "bulkhead-full"
    wait = 1

    def __init__(self, service: str, limit: int) -> None:
        super().__init__(
            f"The gateway already has {limit} requests waiting on the {service} service "
            "(its limit per worker); try again shortly.",
            service=service,
        )
        self.problem_extra = {"service": service, "limit": limit}


def proxy_request(request: HttpRequest, route: Route, body: bytes | None) -> HttpResponse:
    """Stages 3, 4, 5 and 7 for a request the view has let through: the service's answer,
    as it sent it, or the cache's."""
    if (cached := response_cache.lookup(request, route)) is not None:
        return cached
    answer = forward(request, route, body)
    response = response_from(answer)
    response_cache.after_upstream(request, route, answer, response)
    return response


def record(request: HttpRequest, route: Route, status: int, seconds: float) -> None:
    """Stage 6: the request's one record, from which its Prometheus series, the
    dashboard's traffic and the consumer's usage are derived (observability.record)."""
    records.request(request, route, status, seconds)


def forward(request: HttpRequest, route: Route, body: bytes | None) -> Answer:
    """Stages 4 and 5: pick an instance of the route's service and send it the request,
    holding a slot of the service's bulkhead meanwhile (none free: 503 at once).

    One retry on another instance at most: after a failed connect (nothing was sent, so
    any method), or for an idempotent method on a route that allows it, after a timeout,
    a broken answer or 502/503. POST and PATCH are never sent twice. Retries spend the
    service's retry budget. The client's answer for a failure is raised (APIException).
    """
    group = upstreams()
    bulkhead = group.bulkheads[route.service]
    if not bulkhead.enter():
        access_log(request)["upstream_status"] = "bulkhead_full"
        records.attempt(route.service, cast(str, request.method), "bulkhead_full", 0.0)
        raise BulkheadFull(route.service, bulkhead.limit)
    try:
        return _forward(request, route, body, group)
    finally:
        bulkhead.leave()


def _forward(request: HttpRequest, route: Route, body: bytes | None, group: Upstreams) -> Answer:
    service = route.service
    target = escape_uri_path(request.path)
    if query := request.META.get("QUERY_STRING"):
        target = f"{target}?{query}"
    connect, read = route.timeouts()
    method = cast(str, request.method)  # a served request's
    headers = upstream_request_headers(request)
    if isinstance(holder := getattr(request, "user", None), KeyHolder):
        headers.update(consumer_headers(holder))
    pool = group.pool(service)
    budget = group.budgets[service]
    budget.request()
    tried: set[str] = set()
    last_answer: Answer | None = None
    failure: APIException | None = None
    while True:
        pick = pool.pick(exclude=tried)
        if pick is None:
            # The retry found nothing else to try: the first outcome stands.
            if last_answer is not None:
                return last_answer
            if failure is not None:
                raise failure
            access_log(request)["upstream_status"] = "circuit_open"
            records.attempt(service, method, "circuit_open", 0.0)
            error = CircuitOpen(service=service)
            error.wait = pool.retry_after()
            raise error
        instance = pick.instance
        tried.add(instance.url)
        started = time.perf_counter()
        instance.request_started()
        try:
            # One client span per attempt (nothing when tracing is off).
            with tracing.span(
                f"{method} {service}", **{"peer.service": service, "server.address": instance.url}
            ):
                answer = exchange(
                    instance.url,
                    method,
                    target,
                    tracing.with_traceparent(headers),
                    body,
                    connect_timeout=connect,
                    read_timeout=read,
                )
        except UpstreamError as error:
            elapsed = time.perf_counter() - started
            pool.record(pick, ok=False, seconds=elapsed)
            failure = _failure_for(request, route, instance.url, elapsed, error)
            reason = "connect" if isinstance(error, UpstreamUnreachable) else "timeout"
            if _retry_allowed(route, method, error, pool, tried, budget, reason):
                continue
            raise failure from error
        finally:
            instance.request_finished()
        elapsed = time.perf_counter() - started
        failed = answer.status in FAILURE_STATUSES
        pool.record(pick, ok=not failed, seconds=elapsed)
        records.attempt(service, method, str(answer.status), elapsed)
        if answer.status in RETRY_STATUSES and _retry_allowed(
            route, method, None, pool, tried, budget, "status"
        ):
            last_answer = answer
            continue
        log = access_log(request)
        log["upstream_status"] = answer.status
        log["upstream_ms"] = round(elapsed * 1000, 2)
        if len(tried) > 1:
            log["upstream_attempts"] = len(tried)
        log["upstream_instance"] = instance.id
        return answer


def consumer_headers(holder: KeyHolder) -> dict[str, str]:
    """Who calls, for the service: the consumer, its owner (as whom the service serves
    it) and the key's scopes, believed by the service with the gateway's service token."""
    return {
        CONSUMER_ID_HEADER: str(holder.consumer_id),
        CONSUMER_NAME_HEADER: holder.consumer_name.encode("ascii", "replace").decode(),
        CONSUMER_OWNER_HEADER: str(holder.owner_id),
        CONSUMER_SCOPES_HEADER: " ".join(sorted(holder.scopes)),
        SERVICE_TOKEN_HEADER: own_service_token(),
    }


def _retry_allowed(
    route: Route,
    method: str,
    error: UpstreamError | None,
    pool: ServicePool,
    tried: set[str],
    budget: RetryBudget,
    reason: str,
) -> bool:
    """Once, on another instance: when nothing was sent (any method), or for an idempotent
    method on a route that allows it; and only while the retry budget lasts."""
    if not isinstance(error, UpstreamUnreachable) and not (
        route.retry and method in IDEMPOTENT_METHODS
    ):
        return False
    return another_attempt(route.service, len(pool.instances), tried, budget, reason)


def _failure_for(
    request: HttpRequest, route: Route, url: str, elapsed: float, error: UpstreamError
) -> APIException:
    """The client's answer for a failed exchange (if no retry saves it), logged and counted."""
    failure: APIException
    if isinstance(error, UpstreamUnreachable):
        outcome, failure = "unavailable", ServiceUnavailable(service=route.service)
    elif isinstance(error, UpstreamTimeout):
        outcome, failure = "timeout", ServiceTimeout(service=route.service)
    else:
        what = error.what if isinstance(error, UpstreamBroken) else str(error)
        outcome, failure = "error", BadGateway(route.service, what)
    records.attempt(route.service, cast(str, request.method), outcome, elapsed)
    log = access_log(request)
    log["upstream_status"] = outcome
    log["upstream_ms"] = round(elapsed * 1000, 2)
    logger.warning("%s %s %s %s: %s", route.service, url, request.method, request.path, error)
    return failure
