"""GET /health aggregates every service's /ready; /metrics has the gateway's own series."""

from __future__ import annotations

import json
from http import HTTPStatus

from gateway_project.tests.fake_upstream import Received, Reply


def _without_latency(body: dict) -> dict:
    services = body["services"]
    for entry in services.values():
        assert entry.pop("latency_ms") >= 0
    return body


def test_health_is_ok_when_every_service_is_ready(api_client, upstreams):
    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.OK
    assert _without_latency(json.loads(response.content)) == {
        "status": "ok",
        "services": {
            "users": {"status": "up"},
            "products": {"status": "up"},
            "orders": {"status": "up"},
        },
    }
    assert [r.path for r in upstreams["orders"].received] == ["/ready"]


def test_health_is_degraded_naming_the_services_down(api_client, upstreams, settings):
    from devtools.harness import free_port

    upstreams["orders"].responder = lambda received: Reply(503, b'{"status": "unavailable"}')
    urls = {**settings.COMMON["SERVICE_URLS"], "users": f"http://127.0.0.1:{free_port()}"}
    settings.COMMON = {**settings.COMMON, "SERVICE_URLS": urls}

    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert _without_latency(json.loads(response.content)) == {
        "status": "degraded",
        "services": {
            "users": {"status": "down", "detail": "unreachable: no connection"},
            "products": {"status": "up"},
            "orders": {"status": "down", "detail": "/ready answered 503"},
        },
        "down": ["orders", "users"],
    }


def test_health_asks_every_service_at_once(api_client, upstreams, settings):
    import threading

    # Each service answers /ready only once all of them have been asked: asked one after
    # another, the first would wait past HEALTH_TIMEOUT and be reported down.
    everyone_asked = threading.Barrier(len(upstreams), timeout=10)

    def ready_when_all_are_asked(received: Received) -> Reply:
        everyone_asked.wait()
        return Reply(200, b"{}")

    for server in upstreams.values():
        server.responder = ready_when_all_are_asked
    settings.GATEWAY = {**settings.GATEWAY, "HEALTH_TIMEOUT": 5.0}

    response = api_client.get("/health")

    assert response.status_code == HTTPStatus.OK, response.content


def test_a_ready_slower_than_the_health_timeout_is_down(api_client, upstreams, settings):
    # Its answer would come after 3 s: reported down means the timeout ended the wait.
    upstreams["orders"].responder = lambda received: Reply(200, b"{}", delay=3.0)
    settings.GATEWAY = {**settings.GATEWAY, "HEALTH_TIMEOUT": 0.2}

    response = api_client.get("/health")

    body = response.json()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert body["down"] == ["orders"]
    assert body["services"]["orders"]["detail"] == "unreachable: timed out"


def test_metrics_count_upstream_requests_and_throttling(api_client, upstreams, settings):
    settings.GATEWAY = {**settings.GATEWAY, "RATES": {**settings.GATEWAY["RATES"], "anon": "1/min"}}
    api_client.get("/products")
    api_client.get("/products")

    text = api_client.get("/metrics").content.decode()

    assert 'gateway_upstream_requests_total{method="GET",service="products",status="200"}' in text
    assert 'gateway_upstream_latency_seconds_bucket{le="0.005",service="products"}' in text
    assert 'gateway_throttled_requests_total{scope="anon"}' in text
    assert 'gateway_requests_total{method="GET",route="/products",status="429"}' in text
