"""Forwarding one request to a service over pooled keep-alive connections.

urllib3's connection pool directly, not requests: the proxy needs none of requests'
conveniences (cookies, redirects, proxies from the environment, body encoding), and
preparing them was the largest cost on the hot path (docs/performance.md).
"""

from __future__ import annotations

import logging
import time
from functools import cache

import urllib3
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from rest_framework.exceptions import APIException
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from common.service_client import ServiceTimeout, ServiceUnavailable
from gateway_project.proxy import metrics
from gateway_project.proxy.forwarding import response_header_items, upstream_request_headers
from gateway_project.proxy.routes import Route

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class BadGateway(APIException):
    status_code = 502
    default_detail = "The service answered with something that is not HTTP."
    default_code = "bad_gateway"


@cache
def upstream_pool(service: str) -> urllib3.HTTPConnectionPool:
    """One keep-alive pool per service and process; sized for the worker's threads."""
    return urllib3.connection_from_url(
        settings.COMMON["SERVICE_URLS"][service],
        maxsize=settings.GATEWAY["POOL_SIZE"],
        block=False,
        retries=False,
    )


def _reset(*, setting: str, **kwargs: object) -> None:
    if setting in ("COMMON", "GATEWAY"):
        upstream_pool.cache_clear()


setting_changed.connect(_reset)


def _send(
    pool: urllib3.HTTPConnectionPool,
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: urllib3.Timeout,
) -> urllib3.BaseHTTPResponse:
    def attempt() -> urllib3.BaseHTTPResponse:
        return pool.urlopen(
            method,
            url,
            body=body,
            headers=headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=timeout,
            preload_content=True,
            decode_content=False,
        )

    try:
        return attempt()
    except ProtocolError:
        # A kept-alive connection the service closed just as it was reused: one new
        # try where repeating cannot do harm.
        if method not in IDEMPOTENT_METHODS:
            raise
        return attempt()


def proxy_request(request: HttpRequest, route: Route, body: bytes | None) -> HttpResponse:
    """Send the request to the route's service; its answer, as it sent it."""
    service = route.service
    url = escape_uri_path(request.path)
    if query := request.META.get("QUERY_STRING"):
        url = f"{url}?{query}"
    connect, read = route.timeouts()
    method = request.method
    started = time.perf_counter()
    try:
        answer = _send(
            upstream_pool(service),
            method,
            url,
            body,
            upstream_request_headers(request),
            urllib3.Timeout(connect=connect, read=read),
        )
    except (ConnectTimeoutError, NewConnectionError) as error:
        _failed(request, route, started, "unavailable", error)
        raise ServiceUnavailable(service=service) from error
    except ReadTimeoutError as error:
        _failed(request, route, started, "timeout", error)
        raise ServiceTimeout(service=service) from error
    except HTTPError as error:
        _failed(request, route, started, "error", error)
        raise BadGateway() from error
    elapsed = time.perf_counter() - started
    metrics.observe_upstream(service, method, str(answer.status), elapsed)
    request.access_log["upstream_status"] = answer.status
    request.access_log["upstream_ms"] = round(elapsed * 1000, 2)
    return response_from(answer)


def _failed(
    request: HttpRequest, route: Route, started: float, outcome: str, error: Exception
) -> None:
    elapsed = time.perf_counter() - started
    metrics.observe_upstream(route.service, request.method, outcome, elapsed)
    request.access_log["upstream_status"] = outcome
    request.access_log["upstream_ms"] = round(elapsed * 1000, 2)
    logger.warning("%s %s %s: %s", route.service, request.method, request.path, error)


def response_from(answer: urllib3.BaseHTTPResponse) -> HttpResponse:
    """A Django response carrying the service's status, headers and body bytes."""
    response = HttpResponse(answer.data, status=answer.status, reason=answer.reason or None)
    del response["Content-Type"]
    for name, value in response_header_items(answer.headers):
        if name.lower() == "set-cookie":
            response.cookies.load(value)
        elif name in response:
            response[name] = f"{response[name]}, {value}"
        else:
            response[name] = value
    # Upstream answers, errors included, go back as they are.
    response.problem_passthrough = True
    return response
