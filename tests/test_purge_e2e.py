"""A change made while every gateway is down is not served stale once one is back: the
response cache lives in Redis and outlives the gateway, so the product service purges it
there itself (product_service/catalog/purges.py), with no gateway to ask."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest

from devtools.harness import json_call, mint_access_token, new_product, start_stack

pytestmark = pytest.mark.e2e

# Each call's bound; the whole test (three processes started, the gateway twice) is timed too.
CALL_TIMEOUT = 10.0
TEST_BOUND = 45.0


def test_a_change_made_while_the_gateway_is_down_is_seen_when_it_is_back(tmp_path, private_redis):
    started = time.monotonic()
    stack = start_stack(
        tmp_path, ["users", "products", "gateway"], env={"REDIS_URL": private_redis.url}
    )
    try:
        product = new_product(stack, stock=10, price="2.00")
        gateway, products = stack["gateway"], stack["products"]
        url = f"{gateway.url}/products/{product['id']}"
        before = [json_call("GET", url, timeout=CALL_TIMEOUT) for _ in range(2)]

        gateway.stop()
        status, _, changed = json_call(
            "PATCH",
            f"{products.url}/products/{product['id']}",
            {"stock": 3, "price": "9.50"},
            token=mint_access_token(stack, user_id=1, is_staff=True),
            timeout=CALL_TIMEOUT,
        )
        gateway.start()
        after = json_call("GET", url, timeout=CALL_TIMEOUT)
        products_log = products.log_path.read_text(errors="replace")
    finally:
        stack.stop()

    assert [answer[1]["X-Cache"] for answer in before] == ["MISS", "HIT"]
    assert before[1][2]["stock"] == 10
    assert status == HTTPStatus.OK, changed
    assert after[0] == HTTPStatus.OK
    assert after[1]["X-Cache"] == "MISS"
    assert (after[2]["stock"], after[2]["price"]) == (3, "9.50")
    assert "cache purge of" not in products_log  # it landed at once, in Redis
    assert time.monotonic() - started < TEST_BOUND
