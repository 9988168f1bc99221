"""Bulkheads: a service may hold only so many of a worker's threads; the excess is a fast 503."""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from common.testing import bearer, reset_state, wait_until
from gateway_project.conf import GatewaySettings
from gateway_project.tests.conftest import gateway_settings
from gateway_project.tests.fake_upstream import FakeUpstream, Reply
from gateway_project.upstreams.bulkhead import Bulkhead, default_limit
from gateway_project.upstreams.discovery import bulkhead_for, upstreams


def test_a_full_bulkhead_refuses_at_once_and_a_freed_slot_takes_the_next():
    bulkhead = Bulkhead("orders", limit=2, wait=0)

    assert bulkhead.enter()
    assert bulkhead.enter()
    assert not bulkhead.enter()
    bulkhead.leave()
    assert bulkhead.enter()
    assert bulkhead.status() == {"in_flight": 2, "limit": 2, "rejected": 1}


def test_a_request_finding_it_full_waits_for_a_slot_freed_within_the_wait():
    bulkhead = Bulkhead("products", limit=1, wait=5.0)
    assert bulkhead.enter()
    threading.Timer(0.05, bulkhead.leave).start()

    assert bulkhead.enter()  # the slot freed by the timer, long before the 5 s
    assert bulkhead.rejected == 0


def test_the_wait_is_bounded_when_no_slot_comes_free():
    bulkhead = Bulkhead("orders", limit=1, wait=0.05)
    assert bulkhead.enter()

    assert not bulkhead.enter()
    assert bulkhead.status()["rejected"] == 1


def test_once_no_slot_came_free_for_the_wait_callers_are_refused_without_waiting():
    """A stuck service's callers cost no thread time: the wait is for a busy one."""
    now = [100.0]
    bulkhead = Bulkhead("orders", limit=1, wait=30.0, clock=lambda: now[0])
    assert bulkhead.enter()
    now[0] += 30.0  # nothing came back for the whole wait

    started = time.perf_counter()
    assert not bulkhead.enter()
    assert time.perf_counter() - started < 1.0  # not the 30 s a busy service would get
    bulkhead.leave()
    assert bulkhead.enter()  # a slot came back: room again


def test_the_setting_takes_a_default_and_per_service_limits():
    assert bulkhead_for("orders", "3,orders=2") == 2
    assert bulkhead_for("users", "3,orders=2") == 3
    assert bulkhead_for("users", "orders=2") == default_limit()
    assert default_limit(lambda: 4) == 3
    assert default_limit(lambda: 1) == 1  # one thread: it is every service's


@pytest.mark.parametrize("value", ["orders=0", "nowhere=2", "two", "3,orders=-1"])
def test_a_bad_bulkhead_setting_stops_the_start_naming_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match="GATEWAY_BULKHEAD"):
        GatewaySettings.from_mapping({"BULKHEAD": value}).BULKHEAD  # noqa: B018


def test_when_a_service_holds_its_slots_its_next_caller_gets_a_503_naming_it(api_client, upstreams):
    """The slots are held by callers of a service that does not answer; the next caller
    is refused without the service being asked, and other services are untouched."""
    orders = upstreams["orders"]
    release = threading.Event()
    orders.responder = lambda received: (release.wait(5), Reply(200, b"[]"))[1]
    with gateway_settings(BULKHEAD="orders=2", BULKHEAD_WAIT=0):
        group = upstreams_group()
        held = [
            threading.Thread(target=api_client.get, args=("/orders",), kwargs={"headers": user()})
            for _ in range(2)
        ]
        for thread in held:
            thread.start()
        wait_until(lambda: group.bulkheads["orders"].in_flight == 2)

        started = time.perf_counter()
        refused = api_client.get("/orders", headers=user())
        refused_seconds = time.perf_counter() - started
        other = api_client.get("/products")
        release.set()
        for thread in held:
            thread.join()

    assert refused.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["Retry-After"] == "1"
    problem = json.loads(refused.content)
    assert problem["type"].endswith("/bulkhead-full")
    assert (problem["service"], problem["limit"]) == ("orders", 2)
    assert "orders" in problem["detail"]
    assert refused_seconds < 1.0
    assert len(orders.received) == 2  # the refused one never reached it
    assert other.status_code == HTTPStatus.OK
    assert group.bulkheads["orders"].status() == {"in_flight": 0, "limit": 2, "rejected": 1}


def test_a_retry_holds_the_one_slot_its_request_took(api_client, upstreams):
    """A request keeps its slot over its attempts: a limit of 1 is not spent twice."""
    failing, second = upstreams["products"], FakeUpstream("products-b")
    failing.responder = lambda received: Reply(503, b"{}")
    urls = {**settings.COMMON["SERVICE_URLS"], "products": f"{failing.url},{second.url}"}
    try:
        with (
            override_settings(COMMON={**settings.COMMON, "SERVICE_URLS": urls}),
            gateway_settings(BULKHEAD="products=1", BULKHEAD_WAIT=0),
        ):
            group = upstreams_group()
            answers = [api_client.get("/products/1") for _ in range(2)]
    finally:
        second.stop()

    assert [a.status_code for a in answers] == [HTTPStatus.OK] * 2
    assert len(failing.received) == 1  # round robin sent one there; it was retried at b
    assert len(second.received) == 2
    assert group.bulkheads["products"].status() == {"in_flight": 0, "limit": 1, "rejected": 0}


def test_the_status_page_shows_each_services_bulkhead(api_client, upstreams):
    with gateway_settings(BULKHEAD="4,orders=2"):
        response = api_client.get("/gateway/services", headers=staff())

    assert response.status_code == HTTPStatus.OK
    shown = {s["name"]: s["bulkhead"] for s in response.json()["services"]}
    assert shown["orders"] == {"in_flight": 0, "limit": 2, "rejected": 0}
    assert shown["products"]["limit"] == 4


def upstreams_group():
    """The group the settings now in force build, with no breaker or registration left."""
    reset_state()
    return upstreams()


def user() -> dict[str, str]:
    return bearer(user_id=7)


def staff() -> dict[str, str]:
    return bearer(user_id=1, is_staff=True)
