"""Several instances per service: balancing, retries, breakers, outlier ejection, panic."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import override_settings

from common.testing import bearer, reset_state, wait_until
from common.upstreams.breaker import CLOSED, HALF_OPEN, OPEN
from common.upstreams.retry import RetryBudget
from common.upstreams.sources import parse_targets
from devtools.harness import free_port
from gateway_project.tests.conftest import gateway_settings
from gateway_project.tests.fake_upstream import FakeUpstream, Reply
from gateway_project.upstreams.discovery import balancer_for, upstreams


@pytest.fixture(scope="module")
def replicas() -> list[FakeUpstream]:
    servers = [FakeUpstream("products-a"), FakeUpstream("products-b")]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def two_products(replicas, upstreams):
    """products has two instances, a and b, each a fake that records what it got."""
    for server in replicas:
        server.received.clear()
        server.responder = server.echo
    urls = {**settings.COMMON["SERVICE_URLS"], "products": ",".join(s.url for s in replicas)}
    with override_settings(COMMON={**settings.COMMON, "SERVICE_URLS": urls}):
        upstreams_group = upstreams_reset()
        yield replicas
    del upstreams_group


def upstreams_reset():
    """The group the settings now in force build, with no breaker or registration left."""
    reset_state()
    return upstreams()


def served_by(response) -> str:
    return json.loads(response.content)["service"]


def test_service_url_lists_and_dns_names_parse_into_targets():
    targets = parse_targets("http://10.0.0.5:8001, dns+http://products:8000,https://api.internal")

    assert [(t.kind, t.url) for t in targets] == [
        ("static", "http://10.0.0.5:8001"),
        ("dns", "http://products:8000"),
        ("static", "https://api.internal"),
    ]
    with pytest.raises(ValueError, match="no path"):
        parse_targets("http://10.0.0.5:8001/api")


def test_the_balancer_setting_takes_a_default_and_per_service_overrides():
    assert balancer_for("products", "round_robin,products=least_request") == "least_request"
    assert balancer_for("users", "round_robin,products=least_request") == "round_robin"
    assert balancer_for("users", "least_request") == "least_request"


def test_round_robin_alternates_between_instances(api_client, two_products):
    served = [served_by(api_client.get("/products/1")) for _ in range(6)]

    assert Counter(served) == {"products-a": 3, "products-b": 3}
    assert all(served[i] != served[i + 1] for i in range(5))


def test_least_request_prefers_the_instance_with_fewer_requests_in_flight(api_client, two_products):
    with gateway_settings(BALANCER="least_request"):
        pool = upstreams().pool("products")
        busy = next(i for i in pool.members() if i.url == two_products[0].url)
        busy.in_flight = 5  # as if five slow requests were still at a
        served = [served_by(api_client.get("/products/1")) for _ in range(6)]
        busy.in_flight = 0

    assert served == ["products-b"] * 6


def test_a_refused_connection_is_retried_on_the_other_instance_for_any_method(
    api_client, two_products
):
    dead = f"http://127.0.0.1:{free_port()}"
    urls = {**settings.COMMON["SERVICE_URLS"], "products": f"{dead},{two_products[1].url}"}
    with override_settings(COMMON={**settings.COMMON, "SERVICE_URLS": urls}):
        gets = [api_client.get("/products/1") for _ in range(4)]
        post = api_client.post(
            "/products", b"{}", content_type="application/json", headers=staff_header()
        )

    assert [r.status_code for r in gets] == [HTTPStatus.OK] * 4
    assert post.status_code == HTTPStatus.OK
    assert [r.method for r in two_products[1].received].count("POST") == 1


def staff_header() -> dict[str, str]:
    return bearer(user_id=1, is_staff=True)


def test_a_post_that_timed_out_is_never_sent_again(api_client, two_products):
    for server in two_products:
        server.responder = lambda received: Reply(200, b"{}", delay=0.6)
    with gateway_settings(READ_TIMEOUT=0.3):
        response = api_client.post(
            "/products", b"{}", content_type="application/json", headers=staff_header()
        )

    assert response.status_code == HTTPStatus.GATEWAY_TIMEOUT
    assert sum(len(s.received) for s in two_products) == 1


def test_an_idempotent_get_that_timed_out_is_retried_once_on_the_other_instance(
    api_client, two_products
):
    slow, fast = two_products
    slow.responder = lambda received: Reply(200, b"{}", delay=0.6)
    with gateway_settings(READ_TIMEOUT=0.3):
        answers = [api_client.get("/products/1") for _ in range(2)]

    assert [r.status_code for r in answers] == [HTTPStatus.OK] * 2
    assert len(fast.received) == 2
    assert len(slow.received) == 1  # round robin sent one there; it was retried at b


def test_a_503_answer_to_a_get_is_retried_once_then_the_service_answer_stands(
    api_client, two_products
):
    for server in two_products:
        server.responder = lambda received: Reply(503, b'{"detail": "busy"}')

    response = api_client.get("/products/1")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert json.loads(response.content) == {"detail": "busy"}
    assert sum(len(s.received) for s in two_products) == 2


def test_the_retry_budget_caps_retries_to_a_share_of_requests():
    budget = RetryBudget(0.2, minimum=3)
    for _ in range(10):
        budget.request()

    spent = [budget.try_spend() for _ in range(10)]

    assert spent.count(True) == 5  # 3 + 20 % of 10


def test_the_breaker_opens_after_the_threshold_and_then_fails_fast(api_client, upstreams):
    upstreams["products"].responder = lambda received: Reply(503, b"{}")
    with gateway_settings(BREAKER_FAILURES=3, BREAKER_RESET_SECONDS=30, EJECT_CONSECUTIVE=99):
        for _ in range(3):
            assert api_client.get("/products/1").status_code == HTTPStatus.SERVICE_UNAVAILABLE
        response = api_client.get("/products/1")

    assert len(upstreams["products"].received) == 3  # refused without asking the upstream
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert int(response["Retry-After"]) >= 29
    assert json.loads(response.content)["type"].endswith("/circuit-open")
    assert response["X-Cache"] == "BYPASS"  # a cacheable route says so on every answer


def test_after_the_reset_timeout_one_trial_closes_the_breaker(api_client, upstreams):
    fake = upstreams["products"]
    fake.responder = lambda received: Reply(503, b"{}")
    with gateway_settings(BREAKER_FAILURES=2, BREAKER_RESET_SECONDS=0.3, EJECT_CONSECUTIVE=99):
        api_client.get("/products/1")
        api_client.get("/products/1")
        assert api_client.get("/products/1")["Content-Type"] == "application/problem+json"
        fake.responder = fake.echo
        wait_until(lambda: upstreams_state("products") == [HALF_OPEN])  # the reset timeout
        answers = [api_client.get("/products/1").status_code for _ in range(3)]
        pool = upstreams_state("products")

    assert answers == [HTTPStatus.OK] * 3
    assert pool == [CLOSED]


def upstreams_state(service: str) -> list[str]:
    pool = upstreams().pool(service)
    return [pool.breaker_state(instance) for instance in pool.members()]


def test_half_open_lets_exactly_one_trial_through_concurrent_callers(api_client, upstreams):
    fake = upstreams["products"]
    fake.responder = lambda received: Reply(503, b"{}")
    with gateway_settings(BREAKER_FAILURES=1, BREAKER_RESET_SECONDS=0.2, EJECT_CONSECUTIVE=99):
        api_client.get("/products/1")
        assert upstreams_state("products") == [OPEN]
        fake.received.clear()
        fake.responder = lambda received: Reply(200, b"{}", delay=0.5)
        wait_until(lambda: upstreams_state("products") == [HALF_OPEN])  # the reset timeout
        statuses: list[int] = []

        def call() -> None:
            statuses.append(api_client.get("/products/1").status_code)

        threads = [threading.Thread(target=call) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(fake.received) == 1
    assert sorted(statuses) == [200] + [503] * 11


def test_consecutive_failures_eject_an_instance_and_the_other_takes_the_traffic(
    api_client, two_products
):
    bad, good = two_products
    bad.responder = lambda received: Reply(502, b"{}")
    with gateway_settings(EJECT_CONSECUTIVE=2, BREAKER_FAILURES=99, EJECT_BASE_SECONDS=30):
        answers = [api_client.get("/products/1") for _ in range(10)]

    assert [r.status_code for r in answers] == [HTTPStatus.OK] * 10  # 502s were retried
    assert len(bad.received) == 2
    assert len(good.received) == 10


def test_when_every_instance_is_ejected_the_least_recently_failed_still_serves(
    api_client, two_products
):
    pool = upstreams().pool("products")
    first, second = pool.members()
    for instance, failed_at in ((first, 100.0), (second, 50.0)):
        pool.eject(instance, "test")
        instance.last_failure = failed_at

    response = api_client.get("/products/1")

    assert response.status_code == HTTPStatus.OK
    url_of_b = second.url
    assert served_by(response) == next(s.name for s in two_products if s.url == url_of_b)


def test_a_failed_ready_poll_ejects_and_a_good_one_readmits(two_products, upstreams):
    bad = two_products[0]
    bad.responder = lambda received: Reply(503, b"{}")
    with gateway_settings(HEALTH_INTERVAL=5, EJECT_BASE_SECONDS=0):
        group = upstreams_reset()
        group.check_health()
        states = {i.url: i.ejected for i in group.pools["products"].members()}
        bad.responder = bad.echo
        group.check_health()
        after = {i.url: i.ejected for i in group.pools["products"].members()}

    assert states == {two_products[0].url: True, two_products[1].url: False}
    assert after == {two_products[0].url: False, two_products[1].url: False}
    assert [r.path for r in bad.received] == ["/ready", "/ready"]


def test_requests_in_flight_are_counted_exactly_across_worker_threads(two_products, monkeypatch):
    """Worker threads share each instance, so least-request's counts must not drift.

    CPython's GIL happens to switch threads outside a bare `+= 1` today; a free-threaded
    Python (or any other switch point) does not. Here a thread gives way between any two
    bytecodes of the pipeline and the pool, which shows a read-modify-write lost at once."""
    import sys

    from django.test import RequestFactory

    from common.upstreams import pool as pool_module
    from gateway_project.proxy import pipeline
    from gateway_project.routing.table import routes
    from gateway_project.transport.client import Answer

    monkeypatch.setattr(pipeline, "exchange", lambda *args, **kwargs: Answer(200, "OK", [], b""))
    route = next(route for route in routes() if route.name == "/products")
    traced = {pipeline.__file__, pool_module.__file__}

    def give_way(frame, event, arg):
        if frame.f_code.co_filename not in traced:
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            time.sleep(0)
        return give_way

    def proxy_some() -> None:
        sys.settrace(give_way)
        try:
            for _ in range(40):
                request = RequestFactory().get("/products")
                request.access_log = {}
                pipeline.forward(request, route, None)
        finally:
            sys.settrace(None)

    threads = [threading.Thread(target=proxy_some) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    members = upstreams().pool("products").members()
    assert [instance.in_flight for instance in members] == [0, 0]
