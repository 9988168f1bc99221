"""GET /dashboard and its figures: staff only, per route and service, every process."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from common.testing import bearer
from gateway_project.dashboard.figures import percentile
from gateway_project.observability import traffic
from gateway_project.tests.conftest import gateway_settings
from gateway_project.tests.fake_upstream import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(api_client):
    user = get_user_model().objects.create_user("ops", is_staff=True)
    api_client.force_login(user)
    return api_client


def test_anonymous_is_sent_to_the_admin_sign_in(api_client):
    page = api_client.get("/dashboard")
    data = api_client.get("/dashboard/data")

    assert page.status_code == HTTPStatus.FOUND
    assert page["Location"] == "/admin/login/?next=/dashboard"
    assert data.status_code == HTTPStatus.FORBIDDEN
    assert data["Content-Type"] == "application/problem+json"


def test_signed_in_users_who_are_not_staff_see_nothing(api_client):
    api_client.force_login(get_user_model().objects.create_user("bob"))

    assert api_client.get("/dashboard").status_code == HTTPStatus.FOUND
    assert api_client.get("/dashboard/data").status_code == HTTPStatus.FORBIDDEN


def test_the_page_shows_the_route_table_and_the_configured_services(staff_client):
    page = staff_client.get("/dashboard").content.decode()

    assert '<tr data-route="/products/{id}">' in page
    assert '<span class="policy staff">DELETE staff</span>' in page
    assert 'data-chart="service:orders:latency"' in page
    assert settings.COMMON["SERVICE_URLS"]["products"] in page
    assert "/static/gateway/dashboard/dashboard.js" in page


def test_traffic_through_the_proxy_shows_per_route_and_per_service(staff_client, upstreams):
    for _ in range(3):
        staff_client.get("/products")
    staff_client.get("/products/7")

    figures = staff_client.get("/dashboard/data").json()

    listing = figures["routes"]["/products"]
    assert listing["total"] == 3
    assert sum(listing["rate"]) == pytest.approx(3 / traffic.BUCKET_SECONDS)
    assert listing["error_rate"][-1] == 0.0
    assert listing["p50_ms"][-1] is not None
    assert figures["services"]["products"]["total"] == 4
    assert figures["services"]["orders"]["total"] == 0
    assert len(figures["buckets"]) == traffic.WINDOW_SECONDS // traffic.BUCKET_SECONDS
    assert [s["name"] for s in figures["services_status"]] == ["users", "products", "orders"]


def test_errors_and_throttled_requests_are_counted(staff_client, upstreams):
    upstreams["orders"].responder = lambda received: Reply(503)
    with gateway_settings(RATES={**settings.GATEWAY["RATES"], "auth": "1/min"}):
        staff_client.post("/users/login", {}, content_type="application/json")
        staff_client.post("/users/login", {}, content_type="application/json")
    staff_client.get("/orders", headers=bearer())

    figures = staff_client.get("/dashboard/data").json()

    assert figures["throttled"]["auth"][-1] == 1
    assert figures["routes"]["/orders"]["error_rate"][-1] == 1.0
    assert figures["services"]["orders"]["error_rate"][-1] == 1.0
    assert figures["routes"]["/users/login"]["error_rate"][-1] == 0.0


@pytest.mark.parametrize(
    ("histogram", "q", "expected"),
    [
        ([0] * 14, 0.5, None),
        ([10] + [0] * 13, 0.5, 0.5),  # all under 1 ms: half way into the first bucket
        ([0, 0, 0, 4] + [0] * 10, 0.99, 9.95),  # 5..10 ms
        ([0] * 13 + [2], 0.5, 15000.0),  # past the last bound
    ],
)
def test_percentiles_come_from_the_histogram(histogram, q, expected):
    assert percentile(histogram, q) == expected


@pytest.mark.skipif(not traffic.uses_redis(), reason="needs REDIS_URL (the PostgreSQL+Redis pass)")
def test_with_redis_every_process_adds_to_one_store(staff_client, upstreams):
    staff_client.get("/products")
    traffic.flush()  # what the flusher thread does each second
    # Another worker's figures, already in Redis:
    other = traffic.traffic_store().client
    bucket = int(time.time()) // traffic.BUCKET_SECONDS
    key = traffic.traffic_store().cache.make_key(traffic.KEY.format(bucket))
    other.hincrby(key, "route|/products|n", 5)

    figures = staff_client.get("/dashboard/data").json()

    assert figures["routes"]["/products"]["total"] == 6
    assert other.ttl(key) > traffic.WINDOW_SECONDS
    other.delete(key)
