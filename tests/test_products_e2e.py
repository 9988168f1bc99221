"""The product service as a real process (gunicorn, several workers): reservations under load.

On the embedded default this is SQLite (WAL, IMMEDIATE transactions) shared by worker
processes; with PRODUCTS_DATABASE_URL pointing at PostgreSQL, a fresh PostgreSQL database.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest

from devtools.harness import Stack, json_call, mint_access_token, start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    running = start_stack(tmp_path_factory.mktemp("products"), ["products"])
    yield running
    running.stop()


def staff_token(stack: Stack) -> str:
    return mint_access_token(stack, user_id=1, is_staff=True, username="root", is_superuser=True)


def call(stack: Stack, method: str, path: str, body: dict | None = None, **headers: str):
    status, _, parsed = json_call(method, f"{stack['products'].url}{path}", body, headers=headers)
    return status, parsed


def service_headers(stack: Stack) -> dict[str, str]:
    return {"X-Service-Token": stack.base_env["SERVICE_TOKEN"]}


def new_product(stack: Stack, stock: int) -> dict:
    status, product = call(
        stack,
        "POST",
        "/products",
        {"sku": uuid.uuid4().hex[:12], "name": "Lamp", "price": "12.50", "stock": stock},
        Authorization=f"Bearer {staff_token(stack)}",
    )
    assert status == HTTPStatus.CREATED, product
    return product


def stock_of(stack: Stack, product: dict) -> int:
    status, body = call(stack, "GET", f"/products/{product['id']}")
    assert status == HTTPStatus.OK
    return body["stock"]


def test_50_concurrent_reservations_of_stock_10_let_exactly_10_through(products):
    product = new_product(products, stock=10)
    headers = service_headers(products)

    def reserve(index: int):
        body = {
            "order_ref": f"burst-{index}",
            "items": [{"product_id": product["id"], "quantity": 1}],
        }
        return call(products, "POST", "/internal/reservations", body, **headers)

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(reserve, range(50)))

    assert Counter(status for status, _ in answers) == {
        HTTPStatus.CREATED: 10,
        HTTPStatus.CONFLICT: 40,
    }
    refusal = next(body for status, body in answers if status == HTTPStatus.CONFLICT)
    assert refusal["type"].endswith("/insufficient-stock")
    assert refusal["items"][0]["product_id"] == product["id"]
    assert stock_of(products, product) == 0


def test_one_order_ref_reserved_concurrently_takes_stock_once(products):
    product = new_product(products, stock=10)
    headers = service_headers(products)
    body = {"order_ref": "twin", "items": [{"product_id": product["id"], "quantity": 3}]}

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(
            pool.map(
                lambda _: call(products, "POST", "/internal/reservations", body, **headers),
                range(10),
            )
        )

    assert Counter(status for status, _ in answers) == {HTTPStatus.CREATED: 1, HTTPStatus.OK: 9}
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1
    assert stock_of(products, product) == 7

    with ThreadPoolExecutor(max_workers=10) as pool:
        releases = list(
            pool.map(
                lambda _: call(
                    products, "POST", "/internal/reservations/twin/release", None, **headers
                ),
                range(10),
            )
        )

    assert {status for status, _ in releases} == {HTTPStatus.OK}
    assert stock_of(products, product) == 10


def test_internal_api_refuses_callers_without_the_service_token(products):
    status, body = call(products, "POST", "/internal/reservations", {"order_ref": "x", "items": []})

    assert status == HTTPStatus.UNAUTHORIZED
    assert body["status"] == HTTPStatus.UNAUTHORIZED
