"""Swagger UI works from its own examples: on a fresh stack with the demo catalog (as
`manage_all.py up` makes it), every operation of the merged document, sent with its default
example, answers 2xx through the gateway.

Each operation runs once. One or more per tag go through the hub in a real (headless)
Chromium: "Try it out" → "Execute", after Authorize with the bare token login gave. The
rest are sent over HTTP through the gateway as "Try it out" would send them, read from the
served /openapi.json (the UI loop for all of them would take minutes).

Order matters, not the examples: register before login, and last what ends a session, a
product or a consumer (changing the password and logging out revoke the user's tokens;
DELETE soft-deletes the demo keyboard the other examples name, and deletes the consumer,
with its key, that the consumers API's examples name: the first of a new database, which
`POST /gateway/consumers` made). Edited before sending, because no document can ship the
value: the refresh token of `token/refresh` and `logout` (the one login issued),
and the order id of `GET /orders/{id}` and `cancel` (the order the POST example placed).
"""

from __future__ import annotations

import json
import shutil
from urllib.parse import urlencode

import pytest

from common.http.openapi_examples import default_request, example_problems, operations
from devtools.harness import (
    chromium_page,
    json_call,
    manage,
    start_stack,
    superuser_create,
    swagger_authorize,
    swagger_execute,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STAFF, STAFF_PASSWORD = "swagger-ops", "swagger-Ops-Secret-42"
DEEP_LINK_ERROR = "escaping deep link whitespace"
# Run through the UI, in this order (tag, operationId, expected status).
THROUGH_THE_UI = [
    ("users", "usersRegisterCreate", "201"),
    ("users", "usersLoginCreate", "200"),
    # Authorize here, with the `access` login answered.
    ("users", "usersProfileRetrieve", "200"),
    ("products", "productsRetrieve", "200"),
    ("orders", "ordersCreate", "201"),
    ("gateway", "gatewayEveryServicesReadiness", "200"),
]
LAST = [
    "gatewayConsumersDestroy",
    "usersTokenRefreshCreate",
    "usersLogoutCreate",
    "usersPasswordCreate",
    "productsDestroy",
]


@pytest.fixture(scope="module")
def swagger(tmp_path_factory):
    """A fresh stack with the demo catalog and a staff account at the user service."""
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium); .ci/run installs it")
    stack = start_stack(tmp_path_factory.mktemp("swagger"))
    try:
        # The demo catalog, as `manage_all.py up` loads it into a new database.
        assert manage(stack, "products", "load_demo_catalog").returncode == 0
        superuser_create(stack, STAFF, STAFF_PASSWORD)
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def page(swagger):
    with chromium_page(CHROMIUM) as page:
        yield page


def _padlock(page, tag: str, operation_id: str) -> str | None:
    button = page.locator(f"#operations-{tag}-{operation_id} .authorization__btn")
    return button.get_attribute("aria-label") if button.count() else None


def _last(operation_id: str) -> int:
    return LAST.index(operation_id) if operation_id in LAST else -1


def _send(gateway: str, request, token: str = "") -> tuple[int, object]:
    url = f"{gateway}{request.path}"
    if request.query:
        url += "?" + urlencode(request.query)
    status, _, body = json_call(
        request.method, url, request.body, token=token, headers=request.headers
    )
    return status, body


def test_every_operation_answers_2xx_from_its_default_example(swagger, page):
    gateway = swagger["gateway"].url
    page.goto(f"{gateway}/docs")
    selector = page.locator(".topbar .download-url-wrapper select")
    selector.wait_for()
    names = [option.strip() for option in selector.locator("option").all_inner_texts()]
    assert names == [
        "Every service (merged)",
        "User service",
        "Product service",
        "Order service",
        "API gateway",
    ]
    assert selector.evaluate("s => s.selectedOptions[0].textContent") == names[0]
    page.locator("#operations-products-productsList").wait_for()

    # Padlocks: none where no token is taken, open where one is needed or optional.
    assert _padlock(page, "users", "usersRegisterCreate") is None
    assert _padlock(page, "users", "usersProfileRetrieve") == "authorization button unlocked"
    assert _padlock(page, "products", "productsList") == "authorization button unlocked"
    # ... and marked optional where anyone may call and a token shows more (hub.js).
    assert page.locator("#operations-products-productsList .hub-auth-optional").count() == 1
    assert page.locator("#operations-users-usersProfileRetrieve .hub-auth-optional").count() == 0

    executed = set()
    for tag, operation_id, expected in THROUGH_THE_UI:
        status, body = swagger_execute(page, f"operations-{tag}-{operation_id}")
        assert status == expected, (operation_id, body)
        executed.add(operation_id)
        if operation_id == "usersLoginCreate":
            tokens = json.loads(body)
            assert "Paste the access token alone" in swagger_authorize(page, tokens["access"])
            assert _padlock(page, "products", "productsList") == "authorization button locked"
        if operation_id == "ordersCreate":
            order = json.loads(body)

    # The token pasted with its prefix: Swagger UI sends `Bearer Bearer …`, told so.
    status, headers, problem = json_call(
        "GET", f"{gateway}/users/profile", token=f"Bearer {tokens['access']}"
    )
    assert (status, headers["Content-Type"]) == (401, "application/problem+json")
    assert "paste the access token alone" in problem["detail"]

    # Staff: a real token from login, pasted bare.
    _, _, staff = json_call(
        "POST", f"{gateway}/users/login", {"username": STAFF, "password": STAFF_PASSWORD}
    )
    swagger_authorize(page, staff["access"])
    status, body = swagger_execute(page, "operations-products-productsCreate")
    assert status == "201", body
    executed.add("productsCreate")

    # A deep link: Swagger UI opens the operation and logs nothing about escaping.
    page.goto(f"{gateway}/docs#/orders/ordersList")
    page.reload()  # a new fragment alone does not load the page again
    page.locator("#operations-orders-ordersList.is-open").wait_for()
    assert [error for error in page.errors if DEEP_LINK_ERROR in error] == []
    assert page.errors == []

    # Every other operation, as "Try it out" sends it, over HTTP through the gateway.
    _, _, document = json_call("GET", f"{gateway}/openapi.json")
    assert example_problems(document) == []
    rest = [
        (path, method, operation)
        for path, method, operation in operations(document)
        if operation["operationId"] not in executed
    ]
    rest.sort(key=lambda entry: _last(entry[2]["operationId"]))
    answers = {}
    for path, method, operation in rest:
        request = default_request(document, path, method)
        operation_id = operation["operationId"]
        if operation_id in ("usersTokenRefreshCreate", "usersLogoutCreate"):
            request.body = {"refresh": tokens["refresh"]}
        if path.startswith("/orders/{id}"):
            request.path = path.replace("{id}", order["id"])
        if operation_id == "usersPasswordCreate":
            # Logging out revoked the user's access tokens: log in again, as shipped.
            login = default_request(document, "/users/login", "post")
            tokens = _send(gateway, login)[1]
        sent = {"user": tokens["access"], "staff": staff["access"]}
        status, body = _send(gateway, request, sent.get(operation.get("x-gateway-policy"), ""))
        answers[operation_id] = status
        if operation_id == "usersTokenRefreshCreate":
            tokens = body
    assert {name: status for name, status in answers.items() if not 200 <= status < 300} == {}
    assert len(answers) + len(executed) == len(operations(document))
