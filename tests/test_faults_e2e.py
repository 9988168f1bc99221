"""Faults injected into real processes: Redis frozen and killed, a database out of reach,
the product service lost in the middle of an order. Each process is stopped with SIGSTOP or
SIGKILL and started again by the test; the shared PostgreSQL and Redis are never touched."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from http import HTTPStatus

import pytest

from common.testing import wait_until
from devtools.harness import (
    ServiceProcess,
    Stack,
    free_port,
    http,
    json_call,
    mint_access_token,
    new_product,
    run_reconcile,
    start_stack,
)
from gateway_project.tests.fake_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

QUICK = 2.0  # what one request may take while a dependency is frozen or gone


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    server = FakeUpstream("fake")
    yield server
    server.stop()


def _timed(method: str, url: str, **kwargs) -> tuple[int, float]:
    started = time.monotonic()
    status, _, _ = http(method, url, timeout=10, **kwargs)
    return status, time.monotonic() - started


def _signal_group(service: ServiceProcess, signum: int) -> None:
    """The server and its workers (start_stack gives each its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.process.pid, signum)


def test_redis_frozen_then_killed_the_gateway_keeps_proxying_and_limits_resume(
    tmp_path, fake, private_redis
):
    urls = {f"{name}_SERVICE_URL": fake.url for name in ("USERS", "PRODUCTS", "ORDERS")}
    stack = start_stack(
        tmp_path,
        ["gateway"],
        env={**urls, "REDIS_URL": private_redis.url, "GATEWAY_RATE_ANON": "5/min"},
    )
    try:
        url = f"{stack['gateway'].url}/products/1"
        assert _timed("GET", url)[0] == HTTPStatus.OK

        private_redis.freeze()
        frozen = [_timed("GET", url) for _ in range(8)]
        private_redis.kill()
        killed = [_timed("GET", url) for _ in range(8)]

        # Past the limit of 5, yet served: the anon scope fails open, each request quickly.
        for status, seconds in frozen + killed:
            assert status == HTTPStatus.OK
            assert seconds < QUICK
        private_redis.start()  # the same port, empty
        statuses: list[int] = []
        wait_until(  # counting again
            lambda: statuses.append(_timed("GET", url)[0]) or 429 in statuses,
            timeout=20,
            every=0.2,
            what="a 429 once Redis is back",
        )
    finally:
        stack.stop()


def test_logins_with_redis_gone_are_answered_never_500(tmp_path, private_redis):
    stack = start_stack(tmp_path, ["users", "gateway"], env={"REDIS_URL": private_redis.url})
    try:
        base = stack["gateway"].url
        credentials = {"username": f"fault{uuid.uuid4().hex[:8]}", "password": "Fault-pass-12345"}
        assert json_call("POST", f"{base}/users/register", credentials)[0] == HTTPStatus.CREATED

        private_redis.freeze()
        frozen = json_call("POST", f"{base}/users/login", credentials)
        private_redis.kill()
        killed = json_call("POST", f"{base}/users/login", credentials)
        private_redis.start()
        answers = []

        def logged_in() -> bool:  # once the gateway's pause after a Redis failure is over
            answers.append(json_call("POST", f"{base}/users/login", credentials))
            return answers[-1][0] == HTTPStatus.OK

        with contextlib.suppress(AssertionError):
            wait_until(logged_in, timeout=10, every=0.3)
        back = answers[-1]

        for status, headers, body in (frozen, killed):
            assert status in (HTTPStatus.OK, HTTPStatus.SERVICE_UNAVAILABLE), body
            if status == HTTPStatus.OK:
                assert body["access"]
            else:
                assert headers["Content-Type"] == "application/problem+json"
        assert back[0] == HTTPStatus.OK, back[2]
    finally:
        stack.stop()


def test_a_database_out_of_reach_is_503_at_ready_and_at_the_api(tmp_path):
    """A closed port stands in for a PostgreSQL the service cannot reach."""
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/products"
    stack = start_stack(
        tmp_path,
        ["products"],
        env={"PRODUCTS_DATABASE_URL": closed},
        wait=False,
        migrate=False,
    )
    try:
        products = stack["products"]
        products.wait_ready(path="/health")  # alive, not ready
        token = mint_access_token(stack, user_id=1, is_staff=True)

        ready = http("GET", f"{products.url}/ready")
        listing = json_call("GET", f"{products.url}/products")
        created = json_call(
            "POST",
            f"{products.url}/products",
            {"sku": "X-1", "name": "x", "price": "1.00", "stock": 1},
            token=token,
        )

        assert ready[0] == HTTPStatus.SERVICE_UNAVAILABLE
        for status, headers, body in (listing, created):
            assert status == HTTPStatus.SERVICE_UNAVAILABLE, body
            assert headers["Content-Type"] == "application/problem+json"
            assert body["status"] == 503
            assert headers["Retry-After"]
    finally:
        stack.stop()


def _stock(stack: Stack, product_id: int) -> int:
    token = mint_access_token(stack, user_id=1, is_staff=True)
    url = f"{stack['products'].url}/products/{product_id}"
    status, _, product = json_call("GET", url, token=token)
    assert status == HTTPStatus.OK, product
    return product["stock"]


def test_products_lost_in_the_middle_of_an_order_nothing_stays_reserved_after_reconcile(
    tmp_path,
):
    stack = start_stack(
        tmp_path,
        ["products", "orders"],
        env={"ORDERS_PENDING_TIMEOUT": "1", "HTTP_READ_TIMEOUT": "2"},
    )
    try:
        product = new_product(stack, stock=3)
        products = stack["products"]

        # Frozen: the reservation request waits in the socket; orders gives up on it.
        _signal_group(products, signal.SIGSTOP)
        answer: list = []
        buyer = mint_access_token(stack, user_id=9)
        order = threading.Thread(
            target=lambda: answer.append(
                json_call(
                    "POST",
                    f"{stack['orders'].url}/orders",
                    {"items": [{"product_id": product["id"], "quantity": 2}]},
                    token=buyer,
                    timeout=30,
                )
            )
        )
        order.start()
        order.join(timeout=20)
        assert answer, "the order did not answer while products was frozen"
        status, _, problem = answer[0]
        assert status in (HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.GATEWAY_TIMEOUT), problem

        # Thawed, products acts on what waited in its socket: the reservation nobody waits
        # for any more, and the release orders sent when it gave up (if that got through
        # before orders gave up on it too). Then it is lost.
        _signal_group(products, signal.SIGCONT)
        wait_until(
            lambda: "POST /internal/reservations" in products.log_tail(200),
            timeout=15,
            every=0.2,
            what="products acting on the reservation",
        )
        assert _stock(stack, product["id"]) in (1, 3)  # held, or already given back
        _signal_group(products, signal.SIGKILL)
        products.process.wait(timeout=10)
        products.start(migrate=False)

        time.sleep(1.2)  # past ORDERS_PENDING_TIMEOUT
        done = run_reconcile(stack)
        assert done.returncode == 0, done.stderr
        assert _stock(stack, product["id"]) == 3, done.stdout
    finally:
        stack.stop()
