"""GET /dashboard and its figures: staff only, per route and service, every process."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from common.testing import bearer
from gateway_project.consumers import services
from gateway_project.dashboard import views
from gateway_project.dashboard.figures import percentile, traffic_figures
from gateway_project.dashboard.views import route_kind
from gateway_project.observability import record, traffic
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

    assert '<tr data-route="/products/{id}" data-kind="api" data-service="products">' in page
    assert '<span class="policy staff">DELETE staff</span>' in page
    assert 'data-chart="service:orders:latency"' in page
    assert f'data-instance="{settings.COMMON["SERVICE_URLS"]["products"]}"' in page
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
    assert figures["range_seconds"] == 300
    assert len(figures["buckets"]) == 300 // traffic.BUCKET_SECONDS
    assert [s["name"] for s in figures["services_status"]] == ["users", "products", "orders"]


def test_errors_and_throttled_requests_are_counted(staff_client, upstreams):
    upstreams["orders"].responder = lambda received: Reply(503)
    with gateway_settings(RATES={**settings.GATEWAY["RATES"], "auth": "1/min"}):
        staff_client.post("/users/login", {}, content_type="application/json")
        staff_client.post("/users/login", {}, content_type="application/json")
    staff_client.get("/orders", headers=bearer())

    figures = staff_client.get("/dashboard/data").json()

    # The requests may straddle a bucket's end: their sums, and the rate where they fell.
    orders, service = figures["routes"]["/orders"], figures["services"]["orders"]
    assert sum(figures["throttled"]["auth"]) == 1
    assert orders["class_totals"]["5xx"] == orders["total"] == 1
    assert service["class_totals"]["5xx"] == service["total"] == 1
    assert 1.0 in orders["error_rate"]
    assert 1.0 in service["error_rate"]
    assert set(figures["routes"]["/users/login"]["error_rate"]) == {0.0}


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
    record.flush()  # what the flusher thread does each second
    # Another worker's figures, already in Redis:
    other = traffic.traffic_store().client
    bucket = int(time.time()) // traffic.BUCKET_SECONDS
    key = traffic.traffic_store().cache.make_key(traffic.KEY.format(bucket))
    other.hincrby(key, "route|/products|n", 5)

    figures = staff_client.get("/dashboard/data").json()

    assert figures["routes"]["/products"]["total"] == 6
    assert other.ttl(key) > traffic.WINDOW_SECONDS
    other.delete(key)


def test_answers_are_counted_by_status_class_per_route_and_service(staff_client, upstreams):
    codes = iter([200, 201, 404, 500, 503])
    upstreams["products"].responder = lambda received: Reply(next(codes))
    for _ in range(5):
        staff_client.get("/products")
    with gateway_settings(RATES={**settings.GATEWAY["RATES"], "auth": "1/min"}):
        staff_client.post("/users/login", {}, content_type="application/json")
        staff_client.post("/users/login", {}, content_type="application/json")

    figures = staff_client.get("/dashboard/data").json()

    listing = figures["routes"]["/products"]
    assert listing["class_totals"] == {"2xx": 2, "3xx": 0, "4xx": 1, "429": 0, "5xx": 2}
    assert listing["classes"]["5xx"][-1] == 2
    assert listing["error_rate"][-1] == 0.4  # 5xx only: the 404 is not a server error
    assert figures["services"]["products"]["class_totals"]["4xx"] == 1
    login = figures["routes"]["/users/login"]["class_totals"]
    assert login["429"] == 1  # a 429 is not counted as 4xx too
    assert login["4xx"] + login["2xx"] == 1
    assert figures["services"]["users"]["class_totals"]["429"] == 1
    assert listing["p50_ms_total"] is not None


def test_the_one_hour_range_reads_minute_buckets(staff_client, upstreams):
    for _ in range(4):
        staff_client.get("/products")

    hour = staff_client.get("/dashboard/data?range=3600").json()
    five = staff_client.get("/dashboard/data?range=300").json()

    assert (hour["range_seconds"], hour["bucket_seconds"], len(hour["buckets"])) == (3600, 60, 60)
    assert hour["buckets"][-1] == int(time.time()) // 60 * 60
    assert hour["routes"]["/products"]["total"] == 4 == five["routes"]["/products"]["total"]
    assert hour["routes"]["/products"]["rate"][-1] == pytest.approx(4 / 60, abs=0.001)
    assert staff_client.get("/dashboard/data?range=7").status_code == HTTPStatus.BAD_REQUEST


def test_the_hour_tier_keeps_what_the_ten_second_buckets_no_longer_hold(staff_client, upstreams):
    staff_client.get("/products")
    later = time.time() + 20 * 60  # past the 15 minutes of 10 s buckets

    coarse = traffic_figures(["/products"], ["products"], now=later, range_seconds=3600)
    fine = traffic_figures(["/products"], ["products"], now=later, range_seconds=900)

    assert coarse["routes"]["/products"]["total"] == 1
    assert fine["routes"]["/products"]["total"] == 0


def test_page_routes_are_hidden_until_asked_for(staff_client):
    page = staff_client.get("/dashboard").content.decode()

    assert 'data-route="/admin/products/{rest}" data-kind="admin"' in page
    assert 'data-route="/static/users/{rest}" data-kind="static"' in page
    hidden = [line for line in page.splitlines() if 'data-kind="admin"' in line]
    assert len(hidden) == 3
    assert all(line.rstrip().endswith("hidden>") for line in hidden)
    assert 'id="route-filter"' in page
    assert 'id="show-pages"' in page
    assert [route_kind(name) for name in ("/products", "/docs", "/api/docs/x")] == [
        "api",
        "docs",
        "docs",
    ]


def _products_instance(figures: dict) -> dict:
    products = next(s for s in figures["services_status"] if s["name"] == "products")
    (instance,) = products["instances"]
    return instance


def test_an_instance_whose_ready_fails_shows_down_as_health_says(staff_client, upstreams):
    assert _products_instance(staff_client.get("/dashboard/data").json())["shown"] == "up"
    upstreams["products"].responder = lambda received: Reply(503)

    health = staff_client.get("/health").json()  # polls /ready now (active health off)
    instance = _products_instance(staff_client.get("/dashboard/data").json())

    assert health["services"]["products"]["status"] == "down"
    assert (instance["shown"], instance["ready"]) == ("down", "down")
    assert instance["ready_detail"] == "/ready answered 503"
    assert instance["ready_age_seconds"] < 5


def test_a_state_older_than_half_a_refresh_is_polled_afresh(staff_client, upstreams, monkeypatch):
    assert _products_instance(staff_client.get("/dashboard/data").json())["shown"] == "up"
    upstreams["products"].responder = lambda received: Reply(503)
    upstreams["products"].received.clear()

    still = _products_instance(staff_client.get("/dashboard/data").json())
    monkeypatch.setattr(views, "STATE_MAX_AGE", 0.0)
    now = _products_instance(staff_client.get("/dashboard/data").json())

    assert still["shown"] == "up"  # the poll a moment ago is recent enough
    assert now["shown"] == "down"
    assert [r.path for r in upstreams["products"].received] == ["/ready"]


@pytest.mark.skipif(not traffic.uses_redis(), reason="needs REDIS_URL (the PostgreSQL+Redis pass)")
def test_with_redis_the_minute_buckets_are_kept_an_hour(staff_client, upstreams):
    before = int(time.time()) // 60
    staff_client.get("/products")
    record.flush()
    store = traffic.traffic_store(traffic.COARSE)
    minutes = {before, int(time.time()) // 60}  # the request may straddle a minute
    keys = [store.cache.make_key(traffic.COARSE.key.format(minute)) for minute in minutes]

    counts = [store.client.hget(key, "route|/products|c2") for key in keys]
    assert sorted(counts, key=bool)[-1] == b"1"
    assert max(store.client.ttl(key) for key in keys) > traffic.COARSE_WINDOW_SECONDS
    figures = staff_client.get("/dashboard/data?range=3600").json()
    assert figures["routes"]["/products"]["class_totals"]["2xx"] == 1


def test_consumers_show_their_calls_per_route_and_their_quota(staff_client, upstreams):
    consumer = services.consumer_create(owner_id=41, name="nightly-report", quota=500)
    _, raw = services.key_create(consumer=consumer, scopes=["orders:read"])
    for _ in range(3):
        assert staff_client.get("/orders", headers={"X-API-Key": raw}).status_code == 200
    services.consumer_create(owner_id=42, name="idle-one")

    page = staff_client.get("/dashboard").content.decode()

    row = page.split(f'data-consumer="{consumer.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "nightly-report" in row
    assert "<code>/orders</code>" in row
    assert '<td class="num">3</td>' in row
    assert "3 / 500 per day" in row
    assert "idle-one" in page
