"""Forwarding one request to a service over kept-alive connections.

libcurl (pycurl), one handle per worker thread, whose connection cache keeps a
connection to each service open between requests. Neither requests nor urllib3: the
proxy needs none of their conveniences (cookies, redirects, proxies from the
environment, body encoding), and their request preparation and http.client's header
parsing were the largest cost left on the hot path; libcurl does the same exchange in C
for about a quarter of the CPU (docs/performance.md).

What libcurl would add on its own is switched off: proxies from the environment,
`Expect: 100-continue`, a default `Accept`, `User-Agent` or form `Content-Type`, content decoding
and redirects. It resends a request once, on a fresh connection, when a reused
kept-alive connection gave back nothing at all (the service had closed it as it was
reused). That is safe for idempotent methods only, so POST and PATCH always go on a new
connection, where libcurl never resends; and connections idle longer than
MAX_IDLE_SECONDS are not reused, which keeps the resending rare.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import pycurl
from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from rest_framework.exceptions import APIException

from common import tracing
from common.service_client import ServiceTimeout, ServiceUnavailable
from gateway_project import response_cache
from gateway_project.proxy import metrics
from gateway_project.proxy.forwarding import (
    add_passed_cookie,
    response_header_items,
    upstream_content_length,
    upstream_request_headers,
)
from gateway_project.proxy.routes import Route
from gateway_project.upstreams import metrics as upstream_metrics
from gateway_project.upstreams.discovery import upstreams
from gateway_project.upstreams.pool import ServicePool
from gateway_project.upstreams.retry import RetryBudget

logger = logging.getLogger(__name__)

# Below the services' own keep-alive (gunicorn's 5 s): a connection idle this long is
# closed rather than reused, so the service never closes one under a request.
MAX_IDLE_SECONDS = 4
# RFC 9110 §9.2.2. Any other method goes on a new connection: libcurl resends a request
# once when a reused connection gives back nothing, and a service may have acted on it.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Methods whose request carries a body even when the client sent none (Content-Length: 0).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_UNREACHABLE = frozenset({pycurl.E_COULDNT_CONNECT, pycurl.E_COULDNT_RESOLVE_HOST})

_local = threading.local()


class BadGateway(APIException):
    status_code = 502
    default_detail = "The service answered with something that is not HTTP."
    default_code = "bad_gateway"


class UpstreamError(Exception):
    """The exchange with a service failed; libcurl's message says how."""

    kind = "failed"


class UpstreamUnreachable(UpstreamError):
    """No connection could be made (refused, unresolvable, connect timeout)."""

    kind = "no connection"


class UpstreamTimeout(UpstreamError):
    """Connected, but the answer did not come in time."""

    kind = "timed out"


class UpstreamBroken(UpstreamError):
    """Connected, but what came back was not a complete HTTP answer."""

    kind = "not an HTTP answer"


@dataclass(slots=True)
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class _Exchange:
    """Collects one answer's status line, headers and body from libcurl's callbacks."""

    __slots__ = ("chunks", "headers", "status_line")

    def __init__(self) -> None:
        self.status_line = ""
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []

    def header(self, raw: bytes) -> None:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            # A new answer (after an interim 1xx): only the final one counts.
            self.status_line = line
            self.headers = []
        elif ":" in line:
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))


def _handle() -> pycurl.Curl:
    """This thread's libcurl handle; its connection cache is the thread's pool."""
    curl = getattr(_local, "curl", None)
    if curl is None:
        curl = _local.curl = pycurl.Curl()
    return curl


def _configure(curl: pycurl.Curl, connect: float, read: float) -> None:
    curl.reset()  # options only: kept-alive connections survive a reset
    curl.setopt(pycurl.NOSIGNAL, 1)
    curl.setopt(pycurl.PROXY, "")  # never a proxy from the environment
    curl.setopt(pycurl.TCP_NODELAY, 1)
    curl.setopt(pycurl.FOLLOWLOCATION, 0)
    curl.setopt(pycurl.PATH_AS_IS, 1)  # the path goes as the client sent it: no /../ squashing
    curl.setopt(pycurl.HTTP_CONTENT_DECODING, 0)
    curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    curl.setopt(pycurl.MAXAGE_CONN, MAX_IDLE_SECONDS)
    # Connecting is bounded by the connect timeout, the whole exchange (connecting
    # included) by the read timeout: a service that trickles its answer is cut off too.
    curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(connect, read) * 1000)))
    curl.setopt(pycurl.TIMEOUT_MS, max(1, int(read * 1000)))


def _header_lines(headers: dict[str, str], *, has_body: bool) -> list[str]:
    lines = []
    present = set()
    for name, value in headers.items():
        present.add(name.lower())
        # "Name:" would tell libcurl to drop a header; "Name;" sends it empty.
        lines.append(f"{name}: {value}" if value else f"{name};")
    lines.append("Expect:")  # no 100-continue round trip: the body is all here
    if "accept" not in present:
        lines.append("Accept:")
    if "user-agent" not in present:
        lines.append("User-Agent:")  # pycurl would name itself
    if has_body and "content-type" not in present:
        lines.append("Content-Type:")
    return lines


def exchange(
    base_url: str,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    connect_timeout: float,
    read_timeout: float,
) -> Answer:
    """One request to `base_url` + `target` (path and query, already escaped)."""
    curl = _handle()
    _configure(curl, connect_timeout, read_timeout)
    curl.setopt(pycurl.URL, base_url + target)
    if method not in IDEMPOTENT_METHODS:
        curl.setopt(pycurl.FRESH_CONNECT, 1)
    if body is None and method in _BODY_METHODS:
        body = b""
    if method == "HEAD":
        curl.setopt(pycurl.NOBODY, 1)
    elif method != "GET" or body is not None:
        curl.setopt(pycurl.CUSTOMREQUEST, method)
    if body is not None:
        curl.setopt(pycurl.POSTFIELDSIZE, len(body))
        curl.setopt(pycurl.POSTFIELDS, body)
    curl.setopt(pycurl.HTTPHEADER, _header_lines(headers, has_body=body is not None))
    answer = _Exchange()
    curl.setopt(pycurl.HEADERFUNCTION, answer.header)
    curl.setopt(pycurl.WRITEFUNCTION, answer.chunks.append)
    try:
        curl.perform()
    except pycurl.error as error:
        code, message = error.args
        if code in _UNREACHABLE:
            raise UpstreamUnreachable(message) from None
        if code == pycurl.E_OPERATION_TIMEDOUT:
            if curl.getinfo(pycurl.REQUEST_SIZE) == 0:  # never connected: nothing sent
                raise UpstreamUnreachable(message) from None
            raise UpstreamTimeout(message) from None
        raise UpstreamBroken(message) from None
    _, _, rest = answer.status_line.partition(" ")
    _, _, reason = rest.partition(" ")
    return Answer(
        status=curl.getinfo(pycurl.RESPONSE_CODE),
        reason=reason,
        headers=answer.headers,
        body=b"".join(answer.chunks),
    )


class CircuitOpen(ServiceUnavailable):
    default_detail = (
        "The service is failing and the gateway is not sending it requests for a moment; "
        "try again shortly."
    )
    default_code = "circuit_open"
    problem_type = "circuit-open"


# What counts against an instance (breaker and outlier detection) besides a failed
# exchange: answers saying the service cannot serve. A 500 is a bug, not an outage.
FAILURE_STATUSES = frozenset({502, 503, 504})
# After these answers an idempotent request may be retried on another instance.
RETRY_STATUSES = frozenset({502, 503})
MAX_ATTEMPTS = 2  # the first try and one retry


def proxy_request(request: HttpRequest, route: Route, body: bytes | None) -> HttpResponse:
    """Send the request to an instance of the route's service; its answer, as it sent it.

    One retry on another instance at most: after a failed connect (nothing was sent, so
    any method), or for an idempotent method on a route that allows it, after a timeout,
    a broken answer or 502/503. POST and PATCH are never sent twice. Retries spend the
    service's retry budget.
    """
    if (cached := response_cache.lookup(request, route)) is not None:
        return cached
    service = route.service
    target = escape_uri_path(request.path)
    if query := request.META.get("QUERY_STRING"):
        target = f"{target}?{query}"
    connect, read = route.timeouts()
    method = request.method
    headers = upstream_request_headers(request)
    group = upstreams()
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
                return _answer(request, route, last_answer)
            if failure is not None:
                raise failure
            request.access_log["upstream_status"] = "circuit_open"
            metrics.observe_upstream(service, method, "circuit_open", 0.0)
            error = CircuitOpen(service=service)
            error.wait = pool.retry_after()
            raise error
        instance = pick.instance
        tried.add(instance.url)
        started = time.perf_counter()
        instance.in_flight += 1
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
            instance.in_flight -= 1
        elapsed = time.perf_counter() - started
        failed = answer.status in FAILURE_STATUSES
        pool.record(pick, ok=not failed, seconds=elapsed)
        metrics.observe_upstream(service, method, str(answer.status), elapsed)
        if answer.status in RETRY_STATUSES and _retry_allowed(
            route, method, None, pool, tried, budget, "status"
        ):
            last_answer = answer
            continue
        request.access_log["upstream_status"] = answer.status
        request.access_log["upstream_ms"] = round(elapsed * 1000, 2)
        if len(tried) > 1:
            request.access_log["upstream_attempts"] = len(tried)
        request.access_log["upstream_instance"] = instance.id
        return _answer(request, route, answer)


def _answer(request: HttpRequest, route: Route, answer: Answer) -> HttpResponse:
    """The service's answer for the client; the response cache stores or invalidates."""
    response = response_from(answer)
    response_cache.after_upstream(request, route, answer, response)
    return response


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
    if len(tried) >= MAX_ATTEMPTS or len(pool.instances) <= len(tried):
        return False
    if not isinstance(error, UpstreamUnreachable) and not (
        route.retry and method in IDEMPOTENT_METHODS
    ):
        return False
    if budget.try_spend():
        upstream_metrics.RETRIES.labels(route.service, reason).inc()
        return True
    upstream_metrics.RETRY_BUDGET_EXHAUSTED.labels(route.service).inc()
    return False


def _failure_for(
    request: HttpRequest, route: Route, url: str, elapsed: float, error: UpstreamError
) -> APIException:
    """The client's answer for a failed exchange (if no retry saves it), logged and counted."""
    if isinstance(error, UpstreamUnreachable):
        outcome, failure = "unavailable", ServiceUnavailable(service=route.service)
    elif isinstance(error, UpstreamTimeout):
        outcome, failure = "timeout", ServiceTimeout(service=route.service)
    else:
        outcome, failure = "error", BadGateway()
    metrics.observe_upstream(route.service, request.method, outcome, elapsed)
    request.access_log["upstream_status"] = outcome
    request.access_log["upstream_ms"] = round(elapsed * 1000, 2)
    logger.warning("%s %s %s %s: %s", route.service, url, request.method, request.path, error)
    return failure


def response_from(answer: Answer) -> HttpResponse:
    """A Django response carrying the service's status, headers and body bytes."""
    response = HttpResponse(answer.body, status=answer.status, reason=answer.reason or None)
    del response["Content-Type"]
    for name, value in response_header_items(answer.headers):
        if name.lower() == "set-cookie":
            add_passed_cookie(response, value)
        elif name in response:
            response[name] = f"{response[name]}, {value}"
        else:
            response[name] = value
    # Upstream answers, errors included, go back as they are; a HEAD answer's length too.
    response.problem_passthrough = True
    response.upstream_content_length = upstream_content_length(answer.headers)
    return response
