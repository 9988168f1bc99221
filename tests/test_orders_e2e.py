"""Orders against a real product service: concurrency, idempotency, compensation.

Runs on the embedded default (SQLite) and, with PRODUCTS_DATABASE_URL / ORDERS_DATABASE_URL
pointing at PostgreSQL, on fresh PostgreSQL databases.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest

from devtools.harness import REPO_ROOT, Stack, json_call, mint_access_token, start_stack

pytestmark = pytest.mark.e2e

ORDERS_BURST = 30
INITIAL_STOCK = 10


@pytest.fixture(scope="module")
def order_stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    running = start_stack(
        tmp_path_factory.mktemp("orders-e2e"),
        ["products", "orders"],
        env={"GUNICORN_THREADS": "8"},  # more requests in flight at once
    )
    yield running
    running.stop()


class Client:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def call(
        self,
        service: str,
        method: str,
        path: str,
        body=None,
        *,
        user_id=1,
        is_staff=False,
        headers=None,
    ):
        token = mint_access_token(self.stack, user_id=user_id, is_staff=is_staff)
        url = f"{self.stack[service].url}{path}"
        return json_call(method, url, body, token=token, headers=headers, timeout=60)

    def new_product(self, *, stock: int, price: str = "4.20") -> dict:
        sku = f"E2E-{uuid.uuid4().hex[:10]}"
        status, _, product = self.call(
            "products",
            "POST",
            "/products",
            {"sku": sku, "name": f"Thing {sku}", "price": price, "stock": stock},
            user_id=1000,
            is_staff=True,
        )
        assert status == HTTPStatus.CREATED, product
        return product

    def stock_of(self, product_id: int) -> int:
        status, _, product = self.call(
            "products", "GET", f"/products/{product_id}", user_id=1000, is_staff=True
        )
        assert status == HTTPStatus.OK, product
        return product["stock"]

    def all_orders(self, query: str = "") -> list[dict]:
        orders, path = [], f"/orders?page_size=100{query}"
        while path:
            status, _, page = self.call("orders", "GET", path, user_id=1000, is_staff=True)
            assert status == HTTPStatus.OK, page
            orders += page["results"]
            path = page["next"] and page["next"].split(self.stack["orders"].url, 1)[-1]
        return orders


@pytest.fixture
def api_client(order_stack) -> Client:
    return Client(order_stack)


def confirmed_units(api_client: Client) -> Counter:
    units: Counter = Counter()
    for order in api_client.all_orders("&status=confirmed"):
        for item in order["items"]:
            units[item["product_id"]] += item["quantity"]
    return units


def assert_stock_invariant(api_client: Client, initial: dict[int, int]) -> None:
    """For every product: stock + units in confirmed orders == initial stock."""
    units = confirmed_units(api_client)
    for product_id, stock in initial.items():
        assert api_client.stock_of(product_id) + units[product_id] == stock, product_id


def test_thirty_concurrent_orders_for_ten_units(api_client):
    product = api_client.new_product(stock=INITIAL_STOCK)

    def place(n: int):
        return api_client.call(
            "orders",
            "POST",
            "/orders",
            {"items": [{"product_id": product["id"], "quantity": 1}]},
            user_id=1 + n % 7,
        )

    with ThreadPoolExecutor(ORDERS_BURST) as pool:
        results = list(pool.map(place, range(ORDERS_BURST)))

    statuses = Counter(status for status, _, _ in results)
    assert statuses == {
        HTTPStatus.CREATED: INITIAL_STOCK,
        HTTPStatus.CONFLICT: ORDERS_BURST - INITIAL_STOCK,
    }, results
    for status, _, body in results:
        if status == HTTPStatus.CREATED:
            assert body["status"] == "confirmed"
            assert body["items"] == [
                {
                    "product_id": product["id"],
                    "name": product["name"],
                    "unit_price": product["price"],
                    "quantity": 1,
                }
            ]
            assert body["total"] == product["price"]
        else:
            assert body["type"].endswith("/insufficient-stock")
    assert api_client.stock_of(product["id"]) == 0
    confirmed = [
        o
        for o in api_client.all_orders("&status=confirmed")
        if o["items"][0]["product_id"] == product["id"]
    ]
    assert len(confirmed) == INITIAL_STOCK
    assert_stock_invariant(api_client, {product["id"]: INITIAL_STOCK})


def test_five_concurrent_retries_with_one_idempotency_key_create_one_order(api_client):
    product = api_client.new_product(stock=INITIAL_STOCK)
    user_id = 4242
    body = {"items": [{"product_id": product["id"], "quantity": 2}]}
    key = uuid.uuid4().hex

    def place(_):
        return api_client.call(
            "orders", "POST", "/orders", body, user_id=user_id, headers={"Idempotency-Key": key}
        )

    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(place, range(5)))

    created = [body for status, _, body in results if status == HTTPStatus.CREATED]
    in_use = [(h, body) for status, h, body in results if status == HTTPStatus.CONFLICT]
    assert len(created) + len(in_use) == 5, results
    assert created, results
    assert len({order["id"] for order in created}) == 1
    for headers, problem in in_use:
        assert problem["type"].endswith("/idempotency-key-in-use")
        assert int(headers["Retry-After"]) >= 1
    orders = api_client.all_orders(f"&user_id={user_id}")
    assert [order["id"] for order in orders] == [created[0]["id"]]
    assert api_client.stock_of(product["id"]) == INITIAL_STOCK - 2

    # Once done, every retry answers the first answer; another body is refused.
    status, headers, again = place(None)
    assert status == HTTPStatus.CREATED
    assert again == created[0]
    assert headers.get("Idempotent-Replayed") == "true"
    status, _, problem = api_client.call(
        "orders",
        "POST",
        "/orders",
        {"items": [{"product_id": product["id"], "quantity": 3}]},
        user_id=user_id,
        headers={"Idempotency-Key": key},
    )
    assert status == HTTPStatus.UNPROCESSABLE_ENTITY, problem
    assert api_client.stock_of(product["id"]) == INITIAL_STOCK - 2


def test_cancel_releases_once_and_unknown_products_are_refused(api_client):
    a = api_client.new_product(stock=5, price="1.50")
    b = api_client.new_product(stock=5, price="2.25")
    status, _, order = api_client.call(
        "orders",
        "POST",
        "/orders",
        {
            "items": [
                {"product_id": a["id"], "quantity": 2},
                {"product_id": b["id"], "quantity": 1},
                {"product_id": a["id"], "quantity": 1},
            ]
        },
        user_id=77,
    )
    assert status == HTTPStatus.CREATED, order
    assert order["total"] == "6.75"
    assert (api_client.stock_of(a["id"]), api_client.stock_of(b["id"])) == (2, 4)

    # Someone else neither sees nor cancels it.
    assert api_client.call("orders", "GET", f"/orders/{order['id']}", user_id=78)[0] == 404
    assert api_client.call("orders", "POST", f"/orders/{order['id']}/cancel", user_id=78)[0] == 404

    for _ in range(2):
        status, _, cancelled = api_client.call(
            "orders", "POST", f"/orders/{order['id']}/cancel", user_id=77
        )
        assert status == HTTPStatus.OK, cancelled
        assert cancelled == {**order, "status": "cancelled"}
    assert (api_client.stock_of(a["id"]), api_client.stock_of(b["id"])) == (5, 5)

    status, _, problem = api_client.call(
        "orders",
        "POST",
        "/orders",
        {"items": [{"product_id": 987654321, "quantity": 1}]},
        user_id=77,
    )
    assert status == HTTPStatus.CONFLICT, problem
    assert problem["type"].endswith("/unknown-product")
    assert_stock_invariant(api_client, {a["id"]: 5, b["id"]: 5})


def test_products_down_is_503_and_reconcile_releases_later(tmp_path):
    """Products unreachable: 503 + Retry-After, nothing ordered; reconcile finishes the release."""
    stack = start_stack(tmp_path, ["products", "orders"], env={"ORDERS_PENDING_TIMEOUT": "1"})
    try:
        api_client = Client(stack)
        product = api_client.new_product(stock=3)
        stack["products"].stop()

        status, headers, problem = api_client.call(
            "orders",
            "POST",
            "/orders",
            {"items": [{"product_id": product["id"], "quantity": 1}]},
            user_id=5,
        )
        assert status == HTTPStatus.SERVICE_UNAVAILABLE, problem
        assert int(headers["Retry-After"]) >= 1
        assert problem["type"].endswith("/service-unavailable")
        status, _, page = api_client.call("orders", "GET", "/orders", user_id=5)
        assert page["results"] == []  # nothing was ordered: the owner sees nothing
        status, _, page = api_client.call("orders", "GET", "/orders", user_id=1, is_staff=True)
        assert [order["status"] for order in page["results"]] == ["failed"]

        stack["products"].start()
        time.sleep(1.2)  # past ORDERS_PENDING_TIMEOUT: a 404 now settles the release
        orders = stack["orders"]
        done = subprocess.run(
            [sys.executable, "-m", "django", "reconcile"],
            env={**orders.env, "DJANGO_SETTINGS_MODULE": "order_service.settings"},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "released 1; 0 release(s) still pending" in done.stdout, done.stdout
        assert api_client.stock_of(product["id"]) == 3
    finally:
        stack.stop()
