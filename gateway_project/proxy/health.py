"""GET /health: every service's /ready, asked in parallel, each bounded in time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from common.context import request_id_var
from common.services import UPSTREAMS
from gateway_project.proxy.upstream import UpstreamError, exchange
from gateway_project.upstreams.discovery import upstreams

_executor = ThreadPoolExecutor(max_workers=len(UPSTREAMS), thread_name_prefix="health")


def service_readiness(service: str, request_id: str) -> dict:
    """{status: up|down, latency_ms[, detail]}: up when one of its instances is ready."""
    timeout = settings.GATEWAY["HEALTH_TIMEOUT"]
    started = time.perf_counter()
    detail = "no instances known"
    for instance in upstreams().pool(service).members():
        try:
            answer = exchange(
                instance.url,
                "GET",
                "/ready",
                {"X-Request-ID": request_id, "Accept": "application/json"},
                None,
                connect_timeout=timeout,
                read_timeout=timeout,
            )
            if answer.status == HTTPStatus.OK:
                detail = None
                break
            detail = f"/ready answered {answer.status}"
        except UpstreamError as error:
            detail = f"unreachable: {error.kind}"
    result = {
        "status": "up" if detail is None else "down",
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if detail:
        result["detail"] = detail
    return result


@require_GET
def health_aggregate(request: HttpRequest) -> JsonResponse:
    """200 when every service is ready, else 503 naming the ones that are not."""
    request_id = request_id_var.get()
    futures = {name: _executor.submit(service_readiness, name, request_id) for name in UPSTREAMS}
    services = {name: future.result() for name, future in futures.items()}
    healthy = all(entry["status"] == "up" for entry in services.values())
    body = {"status": "ok" if healthy else "degraded", "services": services}
    if not healthy:
        body["down"] = sorted(name for name, entry in services.items() if entry["status"] != "up")
    return JsonResponse(body, status=HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE)
