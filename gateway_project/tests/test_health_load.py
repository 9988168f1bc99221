"""GET /health is public: its fan-out to every service's /ready is cached and throttled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from types import SimpleNamespace

from django.conf import settings

from common.testing import ManualClock
from gateway_project.status import health
from gateway_project.tests.conftest import gateway_settings


def _ready_calls(upstreams) -> int:
    return sum(1 for server in upstreams.values() for r in server.received if r.path == "/ready")


def test_health_answers_from_a_short_cache(api_client, upstreams, monkeypatch):
    clock = ManualClock()
    monkeypatch.setattr(health, "time", SimpleNamespace(monotonic=clock.seconds))
    with gateway_settings(HEALTH_CACHE_SECONDS=0.5):
        first = api_client.get("/health")
        again = api_client.get("/health")
        assert _ready_calls(upstreams) == 3  # one /ready per service for both answers
        clock.advance(600)  # past HEALTH_CACHE_SECONDS
        later = api_client.get("/health")

    assert first.status_code == again.status_code == later.status_code == HTTPStatus.OK
    assert again.content == first.content
    assert _ready_calls(upstreams) == 6


def test_concurrent_health_checks_share_one_round_of_ready_calls(api_client, upstreams):
    from django.test import Client

    with gateway_settings(HEALTH_CACHE_SECONDS=5.0), ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: Client().get("/health").status_code, range(8)))

    assert statuses == [HTTPStatus.OK] * 8
    assert _ready_calls(upstreams) == 3


def test_health_is_throttled_in_the_anon_scope(api_client, upstreams):
    rates = {**settings.GATEWAY["RATES"], "anon": "2/min"}
    with gateway_settings(RATES=rates):
        answers = [api_client.get("/health") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, HTTPStatus.TOO_MANY_REQUESTS]
    assert answers[2]["Content-Type"] == "application/problem+json"
    assert int(answers[2]["Retry-After"]) > 0
    assert answers[0]["RateLimit-Policy"] == '"anon";q=2;w=60'


def test_with_active_health_on_health_reads_the_pools_last_polls(api_client, upstreams):
    """The maintenance thread's /ready round is what /health reports: no second poll."""
    from gateway_project.tests.fake_upstream import Reply
    from gateway_project.upstreams.discovery import upstreams as upstream_group

    upstreams["orders"].responder = lambda received: Reply(503, b'{"status": "unavailable"}')
    # Active health on, the thread asleep: the round below is the only one.
    with gateway_settings(HEALTH_INTERVAL=60.0, REGISTRY_REFRESH_SECONDS=60.0):
        upstream_group().check_health()
        upstreams["orders"].responder = upstreams["orders"].echo  # ready now, not yet polled
        response = api_client.get("/health")

    assert _ready_calls(upstreams) == 3
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["down"] == ["orders"]
    assert body["services"]["orders"]["detail"] == "/ready answered 503"
