"""The gateway's response cache between real processes: HITs never reach the service,
and a change made anywhere (through the gateway, by an order, in the product admin) is
visible at once, to a client revalidating its own copy too (ETag, 304); a Redis that
goes away only turns the cache off."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from http import HTTPStatus

import pytest

from common.testing import wait_until
from devtools.harness import (
    Stack,
    admin_login,
    http,
    json_call,
    mint_access_token,
    start_stack,
    superuser_create,
)

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "cache-e2e-" + secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def staff(stack: Stack) -> str:
    return mint_access_token(stack, user_id=9001, is_staff=True)


@pytest.fixture(scope="module")
def customer(stack: Stack) -> str:
    return mint_access_token(stack, user_id=9002)


def new_product(stack: Stack, staff: str, stock: int = 10) -> dict:
    sku = f"CACHE-{uuid.uuid4().hex[:10]}"
    status, _, body = json_call(
        "POST",
        f"{stack['gateway'].url}/products",
        {"sku": sku, "name": f"Cached {sku}", "price": "3.50", "stock": stock},
        token=staff,
    )
    assert status == HTTPStatus.CREATED, body
    return body


def get(stack: Stack, path: str, *, token: str = "", request_id: str = "") -> tuple:
    headers = {"X-Request-ID": request_id} if request_id else {}
    return json_call("GET", f"{stack['gateway'].url}{path}", token=token, headers=headers)


def product_log_has(stack: Stack, request_id: str) -> bool:
    return request_id in stack["products"].log_path.read_text(errors="replace")


def test_the_second_identical_get_is_a_hit_that_never_reaches_the_service(stack, staff):
    product = new_product(stack, staff)
    first_id, second_id = f"cache-{uuid.uuid4().hex}", f"cache-{uuid.uuid4().hex}"

    first = get(stack, f"/products/{product['id']}", request_id=first_id)
    second = get(stack, f"/products/{product['id']}", request_id=second_id)

    assert first[0] == second[0] == HTTPStatus.OK
    assert (first[1]["X-Cache"], second[1]["X-Cache"]) == ("MISS", "HIT")
    assert second[2] == first[2]
    # Clients revalidate (no purge reaches them); the gateway's own lifetime is its own.
    assert second[1]["Cache-Control"] == first[1]["Cache-Control"] == "public, no-cache"
    assert second[1]["ETag"] == first[1]["ETag"]
    assert "Surrogate-Control" not in first[1]
    assert "Surrogate-Control" not in second[1]
    assert int(second[1]["Age"]) >= 0
    assert second[1]["X-Request-ID"] == second_id
    assert "Surrogate-Key" not in first[1]
    assert "Surrogate-Key" not in second[1]
    wait_until(lambda: product_log_has(stack, first_id), what="the MISS reached the service")
    assert not product_log_has(stack, second_id)  # the HIT did not


def test_a_staff_patch_through_the_gateway_invalidates_the_entry(stack, staff):
    product = new_product(stack, staff)
    path = f"/products/{product['id']}"
    get(stack, path)
    assert get(stack, path)[1]["X-Cache"] == "HIT"

    status, headers, _ = json_call(
        "PATCH", f"{stack['gateway'].url}{path}", {"name": "Renamed"}, token=staff
    )
    after = get(stack, path)

    assert (status, headers["X-Cache"]) == (HTTPStatus.OK, "BYPASS")
    assert after[1]["X-Cache"] == "MISS"
    assert after[2]["name"] == "Renamed"


def test_an_order_through_the_gateway_then_get_shows_the_lowered_stock(stack, staff, customer):
    product = new_product(stack, staff, stock=10)
    path = f"/products/{product['id']}"
    listing = f"/products?search={product['sku']}"
    for _ in range(2):
        detail, listed = get(stack, path), get(stack, listing)
    assert (detail[1]["X-Cache"], listed[1]["X-Cache"]) == ("HIT", "HIT")

    status, _, order = json_call(
        "POST",
        f"{stack['gateway'].url}/orders",
        {"items": [{"product_id": product["id"], "quantity": 3}]},
        token=customer,
    )
    assert status == HTTPStatus.CREATED, order
    detail, listed = get(stack, path), get(stack, listing)

    assert detail[2]["stock"] == 7
    assert [item["stock"] for item in listed[2]["results"]] == [7]

    status, _, _ = json_call(
        "POST", f"{stack['gateway'].url}/orders/{order['id']}/cancel", token=customer
    )
    assert status == HTTPStatus.OK
    assert get(stack, path)[2]["stock"] == 10


@pytest.fixture(scope="module")
def product_admin(stack: Stack):
    """A superuser of the product service's own admin, signed in on its own port."""
    username = f"cache-admin-{secrets.token_hex(3)}"
    superuser_create(
        stack, username, ADMIN_PASSWORD, service="products", email=f"{username}@example.com"
    )
    return admin_login(stack["products"].url, username, ADMIN_PASSWORD)


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page).group(1)


def edit_in_admin(stack: Stack, admin, product: dict, *, name: str, stock: int):
    """Save the product's change form in the product service's admin: its answer."""
    change = f"{stack['products'].url}/admin/catalog/product/{product['id']}/change/"
    page = admin.get(change, timeout=10).text
    return admin.post(
        change,
        data={
            "csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken"),
            "sku": product["sku"],
            "name": name,
            "description": "",
            "price": "3.50",
            "stock": str(stock),
            "initial-stock": _hidden(page, "initial-stock"),
            "is_active": "on",
            "_save": "Save",
        },
        timeout=10,
        allow_redirects=False,
    )


def test_a_staff_edit_in_the_product_admin_is_visible_at_once(stack, staff, product_admin):
    product = new_product(stack, staff, stock=10)
    path = f"/products/{product['id']}"
    get(stack, path)
    assert get(stack, path)[1]["X-Cache"] == "HIT"

    saved = edit_in_admin(stack, product_admin, product, name="Edited in the admin", stock=25)
    after = get(stack, path)

    assert saved.status_code == HTTPStatus.FOUND, saved.text[:500]
    assert after[1]["X-Cache"] == "MISS"
    assert (after[2]["name"], after[2]["stock"]) == ("Edited in the admin", 25)


def revalidate(stack: Stack, path: str, etag: str, *, method: str = "GET") -> tuple:
    """A client's conditional read, as a browser revalidating its copy sends it."""
    return http(method, f"{stack['gateway'].url}{path}", headers={"If-None-Match": etag})


def test_a_client_revalidating_its_copy_gets_304_until_the_stock_changes(
    stack, staff, product_admin
):
    product = new_product(stack, staff, stock=10)
    path = f"/products/{product['id']}"
    first = get(stack, path)
    etag = first[1]["ETag"]
    checks = [revalidate(stack, path, etag) for _ in range(2)]
    head = revalidate(stack, path, etag, method="HEAD")

    assert first[1]["Cache-Control"] == "public, no-cache"
    assert [(status, h["X-Cache"]) for status, h, _ in checks] == [(304, "HIT")] * 2
    for status, headers, body in [*checks, head]:
        assert status == HTTPStatus.NOT_MODIFIED
        assert body == b""
        assert headers["ETag"] == etag
        assert headers["Cache-Control"] == "public, no-cache"
        assert "Content-Length" not in headers  # a 304 describes the 200, not itself
        assert "Content-Type" not in headers
        assert "Date" in headers
    assert checks[0][1].get("Vary") == first[1].get("Vary")

    saved = edit_in_admin(stack, product_admin, product, name=product["name"], stock=4)
    assert saved.status_code == HTTPStatus.FOUND, saved.text[:500]
    status, headers, body = revalidate(stack, path, etag)
    again = revalidate(stack, path, headers["ETag"])

    assert (status, headers["X-Cache"]) == (HTTPStatus.OK, "MISS")
    assert json.loads(body)["stock"] == 4
    assert headers["ETag"] != etag
    assert int(headers["Content-Length"]) == len(body)
    assert (again[0], again[1]["X-Cache"]) == (HTTPStatus.NOT_MODIFIED, "HIT")
    # The old copy is no longer current anywhere: every instance, HIT or MISS, says so.
    assert revalidate(stack, path, etag)[0] == HTTPStatus.OK


def test_staff_answers_revalidate_at_the_service_and_are_never_stored(stack, staff):
    product = new_product(stack, staff)
    path = f"/products/{product['id']}"
    url = f"{stack['gateway'].url}{path}"
    bearer = {"Authorization": f"Bearer {staff}"}
    first = http("GET", url, headers=bearer)
    again = http("GET", url, headers={**bearer, "If-None-Match": first[1]["ETag"]})

    assert (first[0], first[1]["Cache-Control"], first[1]["X-Cache"]) == (
        HTTPStatus.OK,
        "private, no-cache",
        "BYPASS",
    )
    assert (again[0], again[1]["X-Cache"], again[2]) == (HTTPStatus.NOT_MODIFIED, "BYPASS", b"")
    assert again[1]["ETag"] == first[1]["ETag"]


def test_staff_and_anonymous_answers_never_mix(stack, staff):
    product = new_product(stack, staff)
    path = f"/products/{product['id']}"
    as_staff = get(stack, path, token=staff)
    anonymous = [get(stack, path) for _ in range(2)]
    assert as_staff[1]["Cache-Control"] == "private, no-cache"
    assert as_staff[1]["X-Cache"] == "BYPASS"
    assert [a[1]["X-Cache"] for a in anonymous] == ["MISS", "HIT"]

    url = f"{stack['gateway'].url}{path}"
    status, _, _ = json_call("PATCH", url, {"is_active": False}, token=staff)
    assert status == HTTPStatus.OK
    inactive_for_staff = [get(stack, path, token=staff) for _ in range(2)]
    inactive_for_anonymous = [get(stack, path) for _ in range(2)]

    assert [(s, b["is_active"]) for s, _, b in inactive_for_staff] == [(HTTPStatus.OK, False)] * 2
    assert [s for s, _, _ in inactive_for_anonymous] == [HTTPStatus.NOT_FOUND] * 2
    assert {h["X-Cache"] for _, h, _ in inactive_for_anonymous} == {"BYPASS"}

    # Deleted, it is nobody's: staff's answer is a 404 too, never a kept copy.
    status, _, _ = json_call("DELETE", url, token=staff)
    assert status == HTTPStatus.NO_CONTENT
    assert get(stack, path, token=staff)[0] == HTTPStatus.NOT_FOUND
    assert get(stack, path)[0] == HTTPStatus.NOT_FOUND


def test_redis_down_the_cache_is_bypassed_and_requests_keep_flowing(
    tmp_path, stack, staff, private_redis
):
    product = new_product(stack, staff)
    path = f"/products/{product['id']}"
    own = start_stack(
        tmp_path,
        ["gateway"],
        env={
            "PRODUCTS_SERVICE_URL": stack["products"].url,
            "USERS_SERVICE_URL": stack["users"].url,
            "ORDERS_SERVICE_URL": stack["orders"].url,
            "REDIS_URL": private_redis.url,
            "REDIS_SOCKET_TIMEOUT": "0.5",
        },
    )
    try:
        url = f"{own['gateway'].url}{path}"
        before = [json_call("GET", url)[1]["X-Cache"] for _ in range(2)]
        private_redis.kill()
        answers = [json_call("GET", url, timeout=5) for _ in range(10)]
    finally:
        own.stop()

    assert before == ["MISS", "HIT"]
    assert [status for status, _, _ in answers] == [HTTPStatus.OK] * 10
    assert {headers["X-Cache"] for _, headers, _ in answers} == {"BYPASS"}
    assert all(body["id"] == product["id"] for _, _, body in answers)
