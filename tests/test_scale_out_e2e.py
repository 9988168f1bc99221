"""Scale-out for real: two gateway processes on two ports and two product instances, all
sharing one Redis (a private one) and one database per service."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest

from common.testing import wait_until
from devtools.harness import (
    Stack,
    another_instance,
    http,
    json_call,
    mint_access_token,
    start_gateway,
    start_stack,
)

pytestmark = pytest.mark.e2e

LIMIT = 20


@pytest.fixture
def scaled(tmp_path, private_redis) -> Iterator[tuple[Stack, list]]:
    redis = private_redis
    stack = start_stack(tmp_path, ["users", "products", "orders"], env={"REDIS_URL": redis.url})
    try:
        first = stack["products"]
        second = another_instance(stack, "products", "products-2")
        settings = {
            "REDIS_URL": redis.url,
            "PRODUCTS_SERVICE_URL": f"{first.url},{second.url}",
            "GATEWAY_RATE_ANON": f"{LIMIT}/min",
            "GATEWAY_RATE_USER": "1000000/min",  # the steady traffic below is signed in
            "GATEWAY_CACHE_SECONDS": "0",
        }
        gateways = [start_gateway(stack, f"gateway-{n}", **settings) for n in (1, 2)]
        yield stack, gateways
    finally:
        stack.stop()


def test_two_gateways_share_limits_registry_breakers_and_orders(scaled):
    stack, (one, two) = scaled
    staff = mint_access_token(stack, user_id=1, is_staff=True)
    user = mint_access_token(stack, user_id=7)

    # A rate limit of N is one limit across both gateways: exactly N of a burst pass.
    urls = [f"{gateway.url}/products?n={n}" for n in range(30) for gateway in (one, two)]
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda url: http("GET", url)[0], urls))
    assert statuses.count(HTTPStatus.OK) == LIMIT, statuses
    assert statuses.count(HTTPStatus.TOO_MANY_REQUESTS) == len(urls) - LIMIT

    # Both gateways see the same instances, with the same breaker states.
    def products_view(gateway):
        _, _, body = json_call("GET", f"{gateway.url}/gateway/services", token=staff)
        entry = next(s for s in body["services"] if s["name"] == "products")
        return sorted((i["url"], i["breaker"]) for i in entry["instances"])

    assert products_view(one) == products_view(two)
    assert [breaker for _, breaker in products_view(one)] == ["closed", "closed"]

    # An order through one gateway, cancelled through the other, releases its stock once.
    body = {"sku": "SCALE-OUT", "name": "Shared mug", "price": "4.00", "stock": 10}
    status, _, product = json_call("POST", f"{one.url}/products", body, token=staff)
    assert status == HTTPStatus.CREATED, product
    order_body = {"items": [{"product_id": product["id"], "quantity": 3}]}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    status, _, order = json_call("POST", f"{one.url}/orders", order_body, token=user, headers=key)
    assert status == HTTPStatus.CREATED, order
    stock = json_call("GET", f"{stack['products'].url}/products/{product['id']}")[2]["stock"]
    assert stock == 7
    for gateway in (two, one):  # the second cancel answers the same and releases nothing
        status, _, cancelled = json_call(
            "POST", f"{gateway.url}/orders/{order['id']}/cancel", token=user
        )
        assert status == HTTPStatus.OK
        assert cancelled["status"] == "cancelled"
    stock = json_call("GET", f"{stack['products-2'].url}/products/{product['id']}")[2]["stock"]
    assert stock == 10


def test_killing_one_gateway_loses_nothing_the_other_receives(scaled):
    stack, (one, two) = scaled
    token = mint_access_token(stack, user_id=8)
    results: list[int] = []

    def steady_traffic() -> None:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            results.append(
                http("GET", f"{two.url}/orders", headers={"Authorization": f"Bearer {token}"})[0]
            )

    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(steady_traffic) for _ in range(4)]
        wait_until(lambda: len(results) >= 8, what="traffic flowing before the kill")
        os.killpg(one.process.pid, signal.SIGKILL)
        for future in running:
            future.result()

    assert one.process.wait(timeout=10) != 0
    assert len(results) > 20
    assert set(results) == {HTTPStatus.OK}
