"""GET /health: every service's readiness, as its upstream pool knows it.

With active health on (GATEWAY_HEALTH_INTERVAL), the pools' own recent /ready polls
answer and /health asks nobody; otherwise each service's /ready is asked, in parallel,
each bounded in time, through the same poll. It is public, and such a poll costs a
database and cache round trip per service, so an answer is kept for HEALTH_CACHE_SECONDS
in the process (callers arriving meanwhile wait for the one round under way) and callers
are throttled in the `anon` scope.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse, JsonResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from common.observability.context import request_id_var
from common.settings.namespaces import on_test_reset
from common.topology import UPSTREAMS
from gateway_project.conf import gateway_settings
from gateway_project.proxy.throttling import GatewayRateThrottle
from gateway_project.upstreams.discovery import upstreams

_executor = ThreadPoolExecutor(max_workers=len(UPSTREAMS), thread_name_prefix="health")


def service_readiness(service: str, request_id: str) -> dict[str, Any]:
    """{status: up|down, latency_ms[, detail]}: up when one of its instances is ready, as
    the service's pool knows it (gateway_project.upstreams.discovery.Upstreams.readiness)."""
    readiness = upstreams().readiness(service, request_id)
    result = {
        "status": "up" if readiness.ok else "down",
        "latency_ms": round(readiness.seconds * 1000, 2),
    }
    if readiness.detail:
        result["detail"] = readiness.detail
    return result


def aggregate(request_id: str) -> tuple[int, dict[str, Any]]:
    """(status, body): 200 when every service is ready, else 503 naming the ones that are not."""
    futures = {name: _executor.submit(service_readiness, name, request_id) for name in UPSTREAMS}
    services = {name: future.result() for name, future in futures.items()}
    healthy = all(entry["status"] == "up" for entry in services.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded", "services": services}
    if not healthy:
        body["down"] = sorted(name for name, entry in services.items() if entry["status"] != "up")
    return (HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE), body


_round = threading.Lock()
_cached: dict[str, Any] = {"until": float("-inf"), "answer": None}


def cached_aggregate(request_id: str) -> tuple[int, dict[str, Any]]:
    """The last aggregate while it is fresh; one round of /ready calls at a time."""
    answer: tuple[int, dict[str, Any]]
    if time.monotonic() < _cached["until"]:
        answer = _cached["answer"]
        return answer
    with _round:
        if time.monotonic() >= _cached["until"]:
            _cached["answer"] = aggregate(request_id)
            _cached["until"] = time.monotonic() + gateway_settings.HEALTH_CACHE_SECONDS
        answer = _cached["answer"]
        return answer


@on_test_reset
def _forget_health() -> None:
    _cached["until"] = float("-inf")


class HealthAggregateView(APIView):
    """Anonymous (no token is read), throttled per client like any anonymous call."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    schema = None

    def get_throttles(self) -> list[BaseThrottle]:
        return [GatewayRateThrottle("default")]

    def get(self, request: Request) -> HttpResponse:
        status, body = cached_aggregate(request_id_var.get())
        return JsonResponse(body, status=status)

    # The answer is Django's HttpResponse (a service's, or JSON), not a DRF Response.
    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponse, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        if state := getattr(request._request, "rate_limit", None):
            for name, value in state.headers().items():
                response[name] = value
        return response


health_aggregate = HealthAggregateView.as_view()
