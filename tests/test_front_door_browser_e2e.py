"""The front door in a real (headless) Chromium, through the gateway only: the Swagger hub,
every admin with one sign-on, and the dashboard. Screenshots land in var/screenshots/."""

from __future__ import annotations

import os
import shutil

import pytest

from common.testing import wait_until
from devtools.harness import (
    REPO_ROOT,
    json_call,
    mint_access_token,
    record_page_errors,
    start_stack,
    superuser_create,
    swagger_authorize,
    swagger_execute,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
STAFF, PASSWORD = "frontdoor-ops", "front-door-Secret-42"
# The admin's own stylesheet paints its header this colour (light theme).
ADMIN_HEADER_BACKGROUND = "rgb(65, 118, 144)"


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """A stack of its own with a staff account at the user service and one product."""
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium); .ci/run installs it")
    stack = start_stack(tmp_path_factory.mktemp("front"))
    superuser_create(stack, STAFF, PASSWORD, email="ops@example.com")
    gateway = stack["gateway"].url
    status, _, product = json_call(
        "POST",
        f"{gateway}/products",
        {"sku": "FD-1", "name": "Front door", "price": "3.00", "stock": 10},
        token=mint_access_token(stack, user_id=1, is_staff=True),
    )
    assert status == 201, product
    yield stack, product
    stack.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    record_page_errors(page)
    yield page
    context.close()


def sign_in(page, url: str, then: str, login: str = "") -> None:
    """Open `url` (an admin's sign-in, or a page that sends there: to `login` if given),
    sign in as the staff account and wait to land on `then`."""
    page.goto(url)
    assert page.url == login if login else "/login/" in page.url
    page.fill("#id_username", STAFF)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(then)


def test_the_hub_lists_every_document_and_tries_calls_through_the_gateway(front, page):
    stack, _ = front
    gateway = stack["gateway"].url
    status, _, _ = json_call(
        "POST", f"{gateway}/users/register", {"username": "dora", "password": "explorer-Map-77"}
    )
    assert status == 201
    _, _, tokens = json_call(
        "POST", f"{gateway}/users/login", {"username": "dora", "password": "explorer-Map-77"}
    )

    page.goto(f"{gateway}/docs")
    selector = page.locator(".topbar .download-url-wrapper select")
    selector.wait_for()
    # Which documents, in which order: tests/test_swagger_browser_e2e.py.
    page.locator(".swagger-ui .info .title").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "hub.png"), full_page=False)
    # The one the README shows (a test run retakes it: commit it when the hub changes).
    page.screenshot(path=str(REPO_ROOT / "docs" / "screenshots" / "hub.png"), full_page=False)

    selector.select_option(label="Product service")
    page.locator("#operations-products-productsList").wait_for()
    assert page.locator("#operations-internal-internalReservationsCreate").count() == 0
    assert swagger_execute(page, "operations-products-productsList")[0] == "200"

    selector.select_option(label="User service")
    page.locator("#operations-users-usersProfileRetrieve").wait_for()
    swagger_authorize(page, tokens["access"])
    assert swagger_execute(page, "operations-users-usersProfileRetrieve")[0] == "200"
    body = page.locator("#operations-users-usersProfileRetrieve .live-responses-table")
    assert '"username": "dora"' in body.inner_text()


def test_one_sign_in_opens_every_admin_and_an_edit_shows_in_the_api(front, page):
    stack, product = front
    gateway = stack["gateway"].url

    products = f"{gateway}/admin/products/"
    sign_in(page, products, products, login=f"{products}login/?next=/admin/products/")
    assert "Product service administration" in page.inner_text("#site-name")
    background = page.eval_on_selector("#header", "e => getComputedStyle(e).backgroundColor")
    assert background == ADMIN_HEADER_BACKGROUND  # its stylesheet came through the gateway

    page.goto(f"{gateway}/admin/products/catalog/product/{product['id']}/change/")
    page.fill("#id_stock", "37")
    page.click("input[name=_save]")
    page.locator(".messagelist .success").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "admin.png"), full_page=False)
    status, _, seen = json_call("GET", f"{gateway}/products/{product['id']}")
    assert (status, seen["stock"]) == (200, 37)

    page.goto(f"{gateway}/admin/orders/")
    assert page.url == f"{gateway}/admin/orders/"  # no second sign-in
    assert "Order service administration" in page.inner_text("#site-name")
    page.goto(f"{gateway}/admin/users/")
    assert "User service administration" in page.inner_text("#site-name")
    # Each admin kept its own session: products still signed in after the others.
    page.goto(f"{gateway}/admin/products/")
    assert page.url == f"{gateway}/admin/products/"
    cookies = {c["name"]: c["path"] for c in page.context.cookies()}
    assert cookies["products_sessionid"] == "/admin/products/"
    assert cookies["orders_sessionid"] == "/admin/orders/"


def test_every_admin_links_the_others_the_dashboard_and_the_docs(front, page):
    stack, _ = front
    gateway = stack["gateway"].url
    sign_in(page, f"{gateway}/admin/login/?next=/admin/", f"{gateway}/admin/")
    nav = page.locator("#platform-nav")
    assert nav.locator("a[aria-current=page]").inner_text() == "Gateway"

    # Admin to admin by the header's links, signed on once.
    for label, path, title in [
        ("Products", "/admin/products/", "Product service administration"),
        ("Orders", "/admin/orders/", "Order service administration"),
        ("Users", "/admin/users/", "User service administration"),
        ("Gateway", "/admin/", "API gateway administration"),
    ]:
        nav.get_by_role("link", name=label, exact=True).click()
        page.wait_for_url(f"{gateway}{path}")
        assert title in page.inner_text("#site-name")
        assert nav.locator("a[aria-current=page]").inner_text() == label
        box, header = nav.bounding_box(), page.locator("#header").bounding_box()
        assert box["x"] + box["width"] <= header["x"] + header["width"]  # within the header

    # A service's local user table says what it is and where accounts are made.
    page.goto(f"{gateway}/admin/products/")
    assert "signed-on accounts" in page.inner_text("#content-main").lower()  # CSS capitals
    # The one the README links (a test run retakes it: commit it when the admins change).
    page.screenshot(path=str(REPO_ROOT / "docs" / "screenshots" / "admin.png"), full_page=False)
    page.goto(f"{gateway}/admin/products/auth/user/")
    assert "Users admin" in page.inner_text("#signed-on-accounts")
    assert page.locator(".object-tools .addlink").count() == 0
    page.locator("#signed-on-accounts a").click()
    page.wait_for_url(f"{gateway}/admin/users/")

    nav.get_by_role("link", name="Dashboard", exact=True).click()
    page.wait_for_url(f"{gateway}/dashboard")
    page.wait_for_function("document.getElementById('updated').textContent.startsWith('updated')")
    page.go_back()
    nav.get_by_role("link", name="API docs", exact=True).click()
    page.wait_for_url(f"{gateway}/docs")
    page.locator(".swagger-ui .info .title").first.wait_for()


def test_the_dashboard_shows_routes_and_charts_that_move_with_traffic(front, page):
    stack, product = front
    gateway = stack["gateway"].url
    sign_in(page, f"{gateway}/admin/login/?next=/dashboard", f"{gateway}/dashboard")
    page.wait_for_function("document.getElementById('updated').textContent.startsWith('updated')")
    assert page.locator('tr[data-route="/products/{id}"]').count() == 1
    chart = page.locator('svg[data-chart="service:products:rate"]')
    before = float(chart.get_attribute("data-sum"))

    for _ in range(20):
        json_call("GET", f"{gateway}/products/{product['id']}")

    wait_until(
        lambda: float(chart.get_attribute("data-sum")) > before,
        timeout=20,
        every=0.5,
        what="the products chart moving",
    )
    assert chart.locator("polyline").count() == 1
    row = page.locator('tr[data-route="/products/{id}"] .total')
    assert int(row.inner_text()) >= 20
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    assert page.errors == []


def test_screenshots_are_kept():
    names = {"hub.png", "admin.png", "dashboard.png"}
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium); .ci/run installs it")
    kept = {p.name for p in SCREENSHOTS.glob("*.png") if p.stat().st_size > 1000}
    assert names <= kept, os.listdir(SCREENSHOTS)
