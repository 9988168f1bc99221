"""Rate limits: atomic counting, headers on every answer, 429 details, fail open/closed."""

from __future__ import annotations

import contextlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import Client

from common.settings.namespaces import parse_rate
from common.testing import bearer
from gateway_project.proxy.throttling import LocalWindowCounter
from gateway_project.tests.conftest import gateway_settings


def rates(**changes: str) -> dict[str, str]:
    return {**settings.GATEWAY["RATES"], **changes}


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("100/min", (100, 60)),
        ("10/s", (10, 1)),
        ("5/hour", (5, 3600)),
        ("1/day", (1, 86400)),
        ("30/5m", (30, 300)),
    ],
)
def test_parse_rate_reads_drf_syntax(rate, parsed):
    assert parse_rate(rate) == parsed


def test_every_answer_on_a_throttled_route_carries_the_rate_limit_headers(api_client, upstreams):
    with gateway_settings(RATES=rates(anon="5/min")):
        first = api_client.get("/products")
        second = api_client.get("/products/1")

    assert first["RateLimit-Limit"] == "5"
    assert first["RateLimit-Remaining"] == "4"
    assert first["RateLimit-Reset"] == "60"
    assert first["RateLimit-Policy"] == '"anon";q=5;w=60'
    assert first["RateLimit"] == '"anon";r=4;t=60'
    assert second["RateLimit-Remaining"] == "3"
    assert re.fullmatch(r'"anon";r=3;t=(59|60)', second["RateLimit"])


def test_over_the_limit_is_429_problem_details_with_integer_retry_after(api_client, upstreams):
    with gateway_settings(RATES=rates(anon="2/min")):
        statuses = [api_client.get("/products").status_code for _ in range(2)]
        response = api_client.get("/products")

    assert statuses == [HTTPStatus.OK, HTTPStatus.OK]
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["Content-Type"] == "application/problem+json"
    assert re.fullmatch(r"\d+", response["Retry-After"])
    assert 59 <= int(response["Retry-After"]) <= 60
    assert response["RateLimit-Remaining"] == "0"
    body = json.loads(response.content)
    assert body == {
        "type": "https://errors.example/throttled",
        "title": "Too Many Requests",
        "status": 429,
        "detail": body["detail"],
    }
    assert body["detail"].startswith("Request was throttled.")
    assert len(upstreams["products"].received) == 2


def test_signed_in_callers_are_counted_per_user_not_per_ip(api_client, upstreams):
    with gateway_settings(RATES=rates(user="2/min", anon="100/min")):
        alice = [api_client.get("/orders", headers=bearer(user_id=1)).status_code for _ in range(3)]
        bob = api_client.get("/orders", headers=bearer(user_id=2))
        anonymous = api_client.get("/products")

    assert alice == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    assert bob.status_code == HTTPStatus.OK
    assert bob["RateLimit-Policy"] == '"user";q=2;w=60'
    assert anonymous["RateLimit-Policy"] == '"anon";q=100;w=60'


def test_login_register_refresh_share_the_auth_scope_per_ip(api_client, upstreams):
    with gateway_settings(RATES=rates(auth="3/min")):
        statuses = [
            api_client.post(path, b"{}", content_type="application/json").status_code
            for path in ("/users/login", "/users/register", "/users/token/refresh", "/users/login")
        ]
        other_ip = api_client.post(
            "/users/login", b"{}", content_type="application/json", REMOTE_ADDR="192.0.2.50"
        )

    assert statuses == [200, 200, 200, HTTPStatus.TOO_MANY_REQUESTS]
    assert other_ip.status_code == HTTPStatus.OK
    assert other_ip["RateLimit-Policy"] == '"auth";q=3;w=60'


def test_spoofed_x_forwarded_for_from_an_untrusted_client_keeps_its_bucket(api_client, upstreams):
    with gateway_settings(RATES=rates(anon="2/min")):
        statuses = [
            api_client.get(
                "/products", REMOTE_ADDR="203.0.113.5", headers={"X-Forwarded-For": f"10.9.9.{n}"}
            ).status_code
            for n in range(3)
        ]

    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


def test_x_forwarded_for_from_a_trusted_proxy_names_the_bucket(api_client, upstreams):
    with gateway_settings(RATES=rates(anon="1/min"), TRUSTED_PROXIES=["10.0.0.1"]):
        first = api_client.get(
            "/products", REMOTE_ADDR="10.0.0.1", headers={"X-Forwarded-For": "1.1.1.1"}
        )
        second = api_client.get(
            "/products", REMOTE_ADDR="10.0.0.1", headers={"X-Forwarded-For": "2.2.2.2, 1.1.1.1"}
        )
        third = api_client.get(
            "/products", REMOTE_ADDR="10.0.0.1", headers={"X-Forwarded-For": "3.3.3.3"}
        )

    # The rightmost address not owned by a trusted proxy is the client.
    assert first.status_code == HTTPStatus.OK
    assert second.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert third.status_code == HTTPStatus.OK


def test_invalid_tokens_are_counted_too(api_client, upstreams):
    with gateway_settings(RATES=rates(anon="2/min")):
        statuses = [
            api_client.get("/orders", headers={"Authorization": "Bearer guess"}).status_code
            for _ in range(3)
        ]

    assert statuses == [401, 401, HTTPStatus.TOO_MANY_REQUESTS]


def test_concurrent_burst_lets_exactly_the_limit_through(upstreams):
    limit = 15
    with (
        gateway_settings(RATES=rates(anon=f"{limit}/hour")),
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        statuses = list(pool.map(lambda _: Client().get("/products").status_code, range(4 * limit)))

    assert statuses.count(HTTPStatus.OK) == limit
    assert statuses.count(HTTPStatus.TOO_MANY_REQUESTS) == 3 * limit


def test_local_counter_is_exact_under_threads():
    counter = LocalWindowCounter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: counter.hit("k", 60_000)[0], range(2000)))

    assert sorted(counts) == list(range(1, 2001))


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


def test_redis_unreachable_fails_open_and_is_counted(api_client, upstreams, settings, caplog):
    settings.CACHES = UNREACHABLE_REDIS
    before = _metric("gateway_throttle_backend_failures_total", scope="anon", outcome="fail_open")

    with caplog.at_level("ERROR", logger="gateway_project.proxy.throttling"):
        responses = [api_client.get("/products") for _ in range(3)]

    assert [r.status_code for r in responses] == [HTTPStatus.OK] * 3
    assert not responses[0].has_header("RateLimit-Limit")
    assert len(upstreams["products"].received) == 3
    assert (
        _metric("gateway_throttle_backend_failures_total", scope="anon", outcome="fail_open")
        == before + 3
    )
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1


def test_redis_unreachable_fails_closed_for_configured_scopes(api_client, upstreams, settings):
    settings.CACHES = UNREACHABLE_REDIS

    with gateway_settings(FAIL_CLOSED_SCOPES=["auth"]):
        login = api_client.post("/users/login", b"{}", content_type="application/json")
        products = api_client.get("/products")

    assert login.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert login["Retry-After"] == "5"
    assert json.loads(login.content) == {
        "type": "https://errors.example/rate-limit-unavailable",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "Rate limiting is unavailable, so this request cannot be accepted now.",
    }
    assert upstreams["users"].received == []
    assert products.status_code == HTTPStatus.OK


def _metric(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_silent_redis_costs_one_connect_timeout_then_nothing(
    api_client, upstreams, settings, monkeypatch
):
    import socket
    import time

    from common.limits.shared_redis import SharedRedis

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):  # a full accept queue: further connects are never answered
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    settings.CACHES = {
        "default": {
            **UNREACHABLE_REDIS["default"],
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    # Backing off longer than the test can take, however busy the machine.
    settings.GATEWAY = {**settings.GATEWAY, "THROTTLE_BACKEND_RETRY_SECONDS": 600}
    settings.GATEWAY_RESPONSE_CACHE = {"BACKEND_RETRY_SECONDS": 600}
    failures: list[tuple[int, str, Exception]] = []  # (request, the store, its error)
    failed = SharedRedis.failed

    def counted(self, error):
        failures.append((len(statuses), type(self).__name__, error))
        failed(self, error)

    monkeypatch.setattr(SharedRedis, "failed", counted)

    statuses: list[int] = []
    started = time.monotonic()
    statuses.append(api_client.get("/products").status_code)
    first = time.monotonic() - started
    for _ in range(4):
        statuses.append(api_client.get("/products").status_code)
    for sock in [*fillers, server]:
        sock.close()

    assert statuses == [HTTPStatus.OK] * 5
    stores = [store for _, store, _ in failures]
    assert "RedisWindowCounter" in stores  # the throttle tried Redis on the first request
    assert [request for request, store, _ in failures if store == "RedisWindowCounter"] == [0]
    assert len(stores) == len(set(stores)), "a store tried Redis again while backing off"
    assert all("timeout" in f"{type(e).__name__} {e}".lower() for _, _, e in failures), failures
    # It waited for the connect timeout (0.2 s) rather than failing at once.
    assert first >= 0.15
