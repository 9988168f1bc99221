"""One record per proxied request: Prometheus, the dashboard's traffic and a consumer's
usage are all derived from it, and agree."""

from __future__ import annotations

import time
from collections import Counter
from types import SimpleNamespace

from prometheus_client import REGISTRY

from gateway_project.observability import record, traffic, usage


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def fake_request(method: str = "GET", consumer: int | None = None, throttled_by=None):
    request = SimpleNamespace(method=method, user=SimpleNamespace(consumer_id=consumer))
    if throttled_by:
        request.throttled_by = throttled_by
    return request


ROUTE = SimpleNamespace(name="/record-test", service="products")


def test_a_flush_derives_every_figure_from_the_same_records():
    before = {
        status: sample("gateway_requests_total", route=ROUTE.name, method="GET", status=str(status))
        for status in (200, 429, 502)
    }
    latency_before = sample("gateway_request_latency_seconds_count", route=ROUTE.name)
    sum_before = sample("gateway_request_latency_seconds_sum", route=ROUTE.name)
    throttled_before = sample("gateway_throttled_requests_total", scope="record-scope")
    attempts_before = sample(
        "gateway_upstream_requests_total", service="products", method="GET", status="200"
    )
    for _ in range(3):
        record.request(fake_request(consumer=7), ROUTE, 200, 0.004)
    record.request(fake_request(), ROUTE, 429, 0.0001)  # the service's own 429
    record.request(fake_request(throttled_by="record-scope"), ROUTE, 429, 0.0001)
    record.request(fake_request(), ROUTE, 502, 3.0)
    for _ in range(4):
        record.attempt("products", "GET", "200", 0.003)

    # Nothing counted until the flush: the request path only adds a record.
    assert (
        sample("gateway_requests_total", route=ROUTE.name, method="GET", status="200")
        == (before[200])
    )
    record.flush()

    def requests(status: int) -> float:
        now = sample("gateway_requests_total", route=ROUTE.name, method="GET", status=str(status))
        return now - before[status]

    assert (requests(200), requests(429), requests(502)) == (3, 2, 1)
    assert sample("gateway_request_latency_seconds_count", route=ROUTE.name) - latency_before == 6
    added_sum = sample("gateway_request_latency_seconds_sum", route=ROUTE.name) - sum_before
    assert abs(added_sum - (3 * 0.004 + 2 * 0.0001 + 3.0)) < 1e-9
    assert sample("gateway_throttled_requests_total", scope="record-scope") - throttled_before == 1
    assert (
        sample("gateway_upstream_requests_total", service="products", method="GET", status="200")
        - attempts_before
        == 4
    )

    window = traffic.buckets()
    whole = sum(window.values(), start=Counter())
    prefix = f"route|{ROUTE.name}|"
    assert whole[prefix + "n"] == 6
    assert (whole[prefix + "c2"], whole[prefix + "c429"], whole[prefix + "c5"]) == (3, 2, 1)
    assert whole["throttled|record-scope|n"] == 1
    assert whole["throttled|upstream|n"] == 1
    assert whole[prefix + "h2"] == 3  # 4 ms: the 5 ms bucket, as Prometheus's le="0.005"
    assert (
        sample("gateway_request_latency_seconds_bucket", route=ROUTE.name, le="0.005")
        - sample("gateway_request_latency_seconds_bucket", route=ROUTE.name, le="0.0025")
        >= 3
    )

    days = usage.read(7, days=1)
    assert days[usage.today()][f"{ROUTE.name}|n"] == 3
    assert days[usage.today()][f"{ROUTE.name}|c2"] == 3


def test_the_flusher_thread_moves_records_without_a_reader():
    before = sample("gateway_requests_total", route=ROUTE.name, method="PUT", status="204")
    record.request(fake_request("PUT"), ROUTE, 204, 0.001)
    deadline = time.monotonic() + 5 * record.FLUSH_SECONDS
    while time.monotonic() < deadline:
        now = sample("gateway_requests_total", route=ROUTE.name, method="PUT", status="204")
        if now - before == 1:
            break
        time.sleep(0.05)
    assert now - before == 1


def test_a_part_that_fails_loses_only_its_share(monkeypatch, caplog):
    def down(records):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(traffic, "add", down)
    monkeypatch.setattr(record, "_last_failure_log", 0.0)  # logged at most once a minute
    before = sample("gateway_requests_total", route=ROUTE.name, method="GET", status="201")
    record.request(fake_request(consumer=8), ROUTE, 201, 0.002)

    record.flush()  # does not raise

    after = sample("gateway_requests_total", route=ROUTE.name, method="GET", status="201")
    assert after - before == 1
    assert usage.read(8, days=1)[usage.today()][f"{ROUTE.name}|c2"] == 1
    assert "dashboard traffic not stored: Redis is down" in caplog.text
