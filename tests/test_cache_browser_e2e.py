""" "Change a product's stock in the admin and see it at GET /products/{id}", in a real
(headless) Chromium, through the gateway only: Swagger UI in the docs hub runs the call
twice (the browser keeps the answer), staff change the stock in the product admin in
another browser, and the next Try-it-out shows the new stock within a second. The
browser revalidates its copy (`no-cache` and an ETag) instead of serving it for 30 s."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import uuid

import pytest

from devtools.harness import (
    Stack,
    json_call,
    mint_access_token,
    record_page_errors,
    superuser_create,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "cache-browser-" + secrets.token_urlsafe(12)
OPERATION = "operations-products-productsRetrieve"
SEEN_WITHIN = 1.0  # seconds: "at once"


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    record_page_errors(page)
    return page


@pytest.fixture
def product(stack: Stack) -> dict:
    sku = f"BROWSER-{uuid.uuid4().hex[:10]}"
    status, _, body = json_call(
        "POST",
        f"{stack['gateway'].url}/products",
        {"sku": sku, "name": f"Browser {sku}", "price": "2.00", "stock": 10},
        token=mint_access_token(stack, user_id=9101, is_staff=True),
    )
    assert status == 201, body
    return body


class Swagger:
    """The docs hub's Product service document, GET /products/{id} tried out."""

    def __init__(self, page, gateway: str, product_id: int) -> None:
        self.page, self.product_id = page, product_id
        self.reads: list[str] = []  # every GET /products/{id} the page sent
        path = f"/products/{product_id}"
        page.on(
            "request",
            lambda r: self.reads.append(r.url) if r.url.endswith(path) else None,
        )
        page.goto(f"{gateway}/docs")
        selector = page.locator(".topbar .download-url-wrapper select")
        selector.wait_for()
        selector.select_option(label="Product service")
        self.block = page.locator(f"#{OPERATION}")
        self.block.wait_for()
        self.block.locator(".opblock-summary").first.click()
        self.block.locator("button.try-out__btn").click()
        self.block.locator("input[placeholder='id']").fill(str(product_id))

    def shown_stock(self) -> int | None:
        """The stock in the answer Swagger shows, once it shows one."""
        body = self.block.locator(".live-responses-table .response-col_description pre")
        if body.count() == 0:
            return None
        found = re.search(r'"stock":\s*(-?\d+)', body.first.inner_text())
        return int(found.group(1)) if found else None

    def execute_until(self, stock: int, seconds: float) -> float:
        """Execute once and wait (at most `seconds`) for `stock` to be shown: the time
        it took, or the assertion naming what was shown instead."""
        clear = self.block.locator("button.btn-clear")
        if clear.count():
            clear.click()  # Swagger's own "Clear": the answer shown is the next one
            self.block.locator(".live-responses-table").wait_for(state="detached")
        started = time.monotonic()
        self.block.locator("button.execute").click()
        deadline = started + seconds
        while time.monotonic() < deadline:
            if self.shown_stock() == stock:
                return time.monotonic() - started
            self.page.wait_for_timeout(50)
        raise AssertionError(f"Swagger shows stock {self.shown_stock()} after {seconds}s")


def log_lines(stack: Stack, path: str) -> list[dict]:
    """The gateway's access log lines for GET `path`."""
    found = []
    for line in stack["gateway"].log_path.read_text(errors="replace").splitlines():
        if f'"GET {path} ' in line and line.startswith("{"):
            found.append(json.loads(line))
    return found


def test_a_stock_change_in_the_admin_shows_in_swagger_at_once(stack, browser, product):
    gateway = stack["gateway"].url
    path = f"/products/{product['id']}"
    staff = superuser_create(stack, f"cache-browser-{secrets.token_hex(3)}", PASSWORD)

    # A visitor tries the call twice: the browser keeps the answer and revalidates it.
    visitor = new_page(browser)
    swagger = Swagger(visitor, gateway, product["id"])
    swagger.execute_until(10, 5.0)
    swagger.execute_until(10, 5.0)

    # Staff, in a browser of their own, change the stock in the product admin.
    admin = new_page(browser)
    admin.goto(f"{gateway}/admin/products/catalog/product/{product['id']}/change/")
    admin.fill("#id_username", staff)
    admin.fill("#id_password", PASSWORD)
    admin.click("input[type=submit]")
    admin.locator("#id_stock").wait_for()
    admin.fill("#id_stock", "3")
    admin.click("input[name=_save]")
    admin.locator(".messagelist .success").wait_for()

    took = swagger.execute_until(3, SEEN_WITHIN)

    assert took < SEEN_WITHIN
    assert len(swagger.reads) == 3  # one per Execute: bounded
    # The second run was answered 304 by the gateway from its cache; the third, after
    # the purge, with the new body.
    statuses = [(line["status"], line.get("cache")) for line in log_lines(stack, path)]
    assert (304, "HIT") in statuses, statuses
    assert statuses[-1] == (200, "MISS"), statuses
    assert visitor.errors == []
    # The admin's pages ask for /favicon.ico, which nobody serves: not ours.
    assert [e for e in admin.errors if "/favicon.ico" not in e] == []
    visitor.context.close()
    admin.context.close()
