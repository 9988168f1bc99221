"""An API key made and used in Swagger UI (issue #23), in a real (headless) Chromium on the
docs hub, through the gateway only: a user registers and logs in with Swagger's own
operations, Authorizes `jwtAuth` with the bare access token, makes a consumer and a key
with the consumers API's operations (in the merged document, tag "gateway"), reads the key
from the answer shown, logs out of `jwtAuth`, Authorizes `apiKey` with the key alone, and
`GET /orders` answers 200 with the owner's order. The same key is refused 403 for
`POST /orders`: its scope is `orders:read`.
"""

from __future__ import annotations

import json
import shutil

import pytest

from common.http.openapi_examples import default_request
from devtools.harness import (
    chromium_page,
    json_call,
    manage,
    start_stack,
    swagger_authorize,
    swagger_execute,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def keys_stack(tmp_path_factory):
    """A fresh stack with the demo catalog (the order example names its keyboard)."""
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium); .ci/run installs it")
    stack = start_stack(tmp_path_factory.mktemp("api-key-browser"))
    try:
        assert manage(stack, "products", "load_demo_catalog").returncode == 0
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def page(keys_stack):
    with chromium_page(CHROMIUM, timeout_ms=15_000) as page:
        yield page


def _execute_for(page, operation: str, consumer_id: int) -> tuple[str, str]:
    """Try it out with the path's consumer_id filled in, the body's example as shipped."""
    block = page.locator(f"#{operation}")
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    block.locator("input[placeholder='consumer_id']").fill(str(consumer_id))
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    body = block.locator(".live-responses-table .response-col_description pre").first
    return status.inner_text().strip(), body.inner_text()


def _list_orders(page) -> tuple[str, str]:
    """GET /orders tried out, its example's filters (another user's id, one status)
    emptied: the owner's orders, newest first."""
    block = page.locator("#operations-orders-ordersList")
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    for name in ("user_id", "status"):
        field = block.locator(
            f"tr[data-param-name='{name}'] input, tr[data-param-name='{name}'] select"
        )
        if field.first.evaluate("e => e.tagName") == "SELECT":
            field.first.select_option(label="--")
        else:
            field.first.fill("")
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    body = block.locator(".live-responses-table .response-col_description pre").first
    return status.inner_text().strip(), body.inner_text()


def test_a_key_made_in_swagger_reads_the_owners_orders(keys_stack, page):
    gateway = keys_stack["gateway"].url
    sent: list[dict[str, str]] = []  # the headers of every GET /orders the page sent
    page.on(
        "request",
        lambda r: sent.append(r.headers) if r.url.split("?")[0] == f"{gateway}/orders" else None,
    )
    page.goto(f"{gateway}/docs")
    page.locator("#operations-gateway-gatewayConsumersKeysCreate").wait_for()
    # The hub says how, above the operations (the document's description).
    assert "Authorize apiKey with the key" in page.locator(".information-container").inner_text()

    status, _ = swagger_execute(page, "operations-users-usersRegisterCreate")
    assert status == "201"
    status, body = swagger_execute(page, "operations-users-usersLoginCreate")
    assert status == "200", body
    access = json.loads(body)["access"]
    swagger_authorize(page, access)

    # An order of the user's own (over HTTP, with the document's example): the list shows it.
    _, _, document = json_call("GET", f"{gateway}/openapi.json")
    placing = default_request(document, "/orders", "post")
    status, _, order = json_call("POST", f"{gateway}/orders", placing.body, token=access)
    assert status == 201, order

    status, body = swagger_execute(page, "operations-gateway-gatewayConsumersCreate")
    assert status == "201", body
    consumer = json.loads(body)
    status, body = _execute_for(
        page, "operations-gateway-gatewayConsumersKeysCreate", consumer["id"]
    )
    assert status == "201", body
    made = json.loads(body)
    assert made["scopes"] == ["orders:read"]
    assert made["status"] == "active"
    key = made["key"]
    assert key.startswith("gwk_")

    # The key alone: jwtAuth logged out, apiKey authorized.
    swagger_authorize(page, None)
    swagger_authorize(page, key, scheme="apiKey")
    status, body = _list_orders(page)
    assert status == "200", body
    assert [found["id"] for found in json.loads(body)["results"]] == [order["id"]]
    assert sent[-1].get("x-api-key") == key
    assert "authorization" not in sent[-1]

    # Its scope reads orders; placing one is refused.
    status, _, problem = json_call(
        "POST", f"{gateway}/orders", placing.body, headers={"X-API-Key": key}
    )
    assert status == 403, problem
    assert page.errors == []
