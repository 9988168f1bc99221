"""The dashboard in a real (headless) Chromium, through the gateway: at 1024, 1440 and
1920 px nothing overflows its card, the charts have time axes, units, legends and
tooltips, answers are broken down by status class, the 5 min / 1 h switch and the route
filter work, and a frozen instance shows as down within one refresh. Screenshots land in
docs/screenshots/ (the README and gateway_project/README.md show them)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from devtools.harness import (
    REPO_ROOT,
    RedisProcess,
    another_instance,
    free_port,
    json_call,
    mint_access_token,
    new_product,
    record_page_errors,
    start_gateway,
    start_stack,
    superuser_create,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
STAFF, PASSWORD = "dash-ops", "dash-board-Secret-42"
WIDTHS = (1024, 1440, 1920)
REFRESH_SECONDS = 5  # gateway_project.dashboard.views.REFRESH_SECONDS

# Every visible element of a card whose box leaves the card's (1 px of rounding).
OVERFLOWING = """() => {
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth) {
    out.push('page: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
  }
  for (const card of document.querySelectorAll('.card')) {
    const box = card.getBoundingClientRect();
    for (const node of card.querySelectorAll('*')) {
      const r = node.getBoundingClientRect();
      if (!r.width && !r.height) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 ||
          r.top < box.top - 1 || r.bottom > box.bottom + 1) {
        out.push((card.dataset.service || card.id) + ' > ' + node.tagName.toLowerCase() +
          '.' + (node.getAttribute('class') || '') + ' ' + Math.round(r.left) + '..' +
          Math.round(r.right) + ' of ' + Math.round(box.left) + '..' + Math.round(box.right));
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def dash(tmp_path_factory):
    """Users, two product instances and a gateway sharing a private Redis; orders points at
    a port nobody listens on (its calls are the 5xx); some traffic of every class."""
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium); .ci/run installs it")
    redis = RedisProcess().start()
    root = tmp_path_factory.mktemp("dash")
    stack = start_stack(root, ["users", "products"], env={"REDIS_URL": redis.url})
    try:
        first = stack["products"]
        with ThreadPoolExecutor(1) as background:  # while the instances start
            staff_account = background.submit(
                superuser_create, stack, STAFF, PASSWORD, email="dash@example.com"
            )
            # Ready before the gateway's first /ready round, which would eject it.
            second = another_instance(stack, "products", "products-2")
            gateway = start_gateway(
                stack,
                PRODUCTS_SERVICE_URL=f"{first.url},{second.url}",
                ORDERS_SERVICE_URL=f"http://127.0.0.1:{free_port()}",
                GATEWAY_RATE_AUTH="3/min",
                GATEWAY_CACHE_SECONDS="0",
            )
            staff_account.result()
        url = gateway.url
        staff = mint_access_token(stack, user_id=1, is_staff=True)
        product = new_product(stack, stock=5)
        for _ in range(12):
            assert json_call("GET", f"{url}/products/{product['id']}")[0] == 200
        for _ in range(3):
            assert json_call("GET", f"{url}/products/999999")[0] == 404
        logins = [
            json_call("POST", f"{url}/users/login", {"username": "x", "password": "y"})[0]
            for _ in range(5)
        ]
        assert 429 in logins, logins
        orders = [json_call("GET", f"{url}/orders", token=staff)[0] for _ in range(2)]
        assert all(status >= 500 for status in orders), orders
        yield stack, gateway
    finally:
        # Every process told to stop at once (a frozen one thawed first), then waited for.
        for service in stack.services.values():
            if service.process is not None and service.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.process.pid, signal.SIGCONT)
                    os.killpg(service.process.pid, signal.SIGTERM)
        stack.stop()
        redis.kill()


@pytest.fixture(scope="module")
def page(dash):
    from playwright.sync_api import sync_playwright

    _, gateway = dash
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        record_page_errors(page, failed_answers=True)
        page.goto(f"{gateway.url}/admin/login/?next=/dashboard")
        page.fill("#id_username", STAFF)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{gateway.url}/dashboard")
        # What the admin's sign-in page logged (its /favicon.ico is a 404) is not ours.
        page.errors.clear()
        wait_for_refresh(page)
        yield page
        assert page.errors == []
        browser.close()


def wait_for_refresh(page) -> None:
    """Until the next answer of /dashboard/data is drawn."""
    page.evaluate("document.getElementById('updated').textContent = 'waiting'")
    page.wait_for_function(
        "document.getElementById('updated').textContent.startsWith('updated')",
        timeout=(REFRESH_SECONDS + 10) * 1000,
    )


def cell(page, route: str, column: str) -> int:
    return int(page.locator(f'tr[data-route="{route}"] .{column}').inner_text())


def test_every_width_fits_its_cards_and_is_kept_as_a_screenshot(page):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(400)  # the charts redraw at their new size
        assert page.evaluate(OVERFLOWING) == [], width
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-{width}.png"), full_page=True)
        assert (SCREENSHOTS / f"dashboard-{width}.png").stat().st_size > 10_000
    page.set_viewport_size({"width": 1440, "height": 900})


def test_charts_have_time_axes_units_legends_and_tooltips(page):
    rate = page.locator('svg[data-chart="service:products:rate"]')
    times = rate.locator("text.time").all_text_contents()
    assert len(times) >= 3
    assert all(re.fullmatch(r"\d\d:\d\d", t) for t in times), times
    assert "req/s" in rate.locator("text.unit").all_text_contents()
    assert "time (10 s buckets)" in rate.locator("text.unit").all_text_contents()
    legend = page.locator('ul[data-legend="service:products:rate"] li').all_inner_texts()
    assert {entry.split(" ")[0] for entry in legend} >= {"2xx", "4xx", "429", "5xx", "all"}
    assert "2xx (" in " ".join(legend)
    assert rate.locator("rect").count() >= 1  # the stacked class bars
    latency = page.locator('ul[data-legend="service:products:latency"]').inner_text()
    assert "p50" in latency
    assert "p99" in latency
    assert "ms" in latency
    assert (
        "ms"
        in page.locator('svg[data-chart="service:products:latency"] text.unit').first.text_content()
    )
    assert (
        "%"
        in page.locator(
            'svg[data-chart="service:orders:error_rate"] text.unit'
        ).first.text_content()
    )
    assert "scope auth" in page.locator('ul[data-legend="throttled"]').inner_text()
    assert "5xx answers" in page.locator('article[data-service="orders"]').inner_text()

    box = rate.bounding_box()
    page.mouse.move(box["x"] + box["width"] - 20, box["y"] + box["height"] / 2)
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible")
    text = tooltip.inner_text()
    assert re.search(r"\d\d:\d\d:\d\d\u2013\d\d:\d\d:\d\d", text), text
    assert "2xx:" in text
    assert "req/s" in text
    assert rate.locator("line.guide").count() == 1
    page.mouse.move(0, 0)
    tooltip.wait_for(state="hidden")


def test_routes_are_broken_down_by_status_class(page):
    assert cell(page, "/products/{id}", "c-2xx") >= 12
    assert cell(page, "/products/{id}", "c-4xx") == 3
    assert cell(page, "/users/login", "c-429") >= 1
    assert cell(page, "/users/login", "c-4xx") + cell(page, "/users/login", "c-429") == 5
    assert cell(page, "/orders", "c-5xx") == 2
    assert page.locator('tr[data-route="/orders"] .errors').inner_text() == "100 %"
    assert cell(page, "/orders", "c-2xx") == 0


def test_the_range_switch_redraws_an_hour_of_minute_buckets(page):
    rate = page.locator('svg[data-chart="service:products:rate"]')
    assert (rate.get_attribute("data-buckets"), rate.get_attribute("data-bucket-seconds")) == (
        "30",
        "10",
    )
    page.click('.ranges button[data-range="3600"]')
    page.wait_for_function(
        "document.querySelector('svg[data-chart=\"service:products:rate\"]')"
        ".getAttribute('data-buckets') === '60'"
    )
    assert rate.get_attribute("data-bucket-seconds") == "60"
    assert "time (1 min buckets)" in rate.locator("text.unit").all_text_contents()
    assert page.locator(".range-label").first.inner_text() == "last 1 h"
    assert page.locator('.ranges button[data-range="3600"]').get_attribute("aria-pressed") == "true"
    assert cell(page, "/products/{id}", "c-2xx") >= 12  # the same traffic, coarser
    page.screenshot(path=str(SCREENSHOTS / "dashboard-1440-1h.png"), full_page=False)
    page.click('.ranges button[data-range="300"]')
    page.wait_for_function(
        "document.querySelector('svg[data-chart=\"service:products:rate\"]')"
        ".getAttribute('data-buckets') === '30'"
    )


def test_page_routes_are_hidden_and_the_filter_narrows_the_table(page):
    visible = page.locator("tr[data-route]:visible")
    names = [row.get_attribute("data-route") for row in visible.all()]
    assert "/products" in names
    assert not [n for n in names if n.startswith(("/admin/", "/static/"))], names

    page.check("#show-pages")
    assert page.locator('tr[data-route="/admin/products/{rest}"]').is_visible()
    page.fill("#route-filter", "orders")
    names = [row.get_attribute("data-route") for row in visible.all()]
    assert names == [
        "/orders",
        "/orders/{id}",
        "/orders/{id}/cancel",
        "/admin/orders/{rest}",
        "/static/orders/{rest}",
    ]
    assert (
        page.locator("#route-count").inner_text()
        == f"5 of {page.locator('tr[data-route]').count()} routes"
    )
    page.uncheck("#show-pages")
    page.fill("#route-filter", "")
    assert page.locator('tr[data-route="/admin/products/{rest}"]').is_hidden()


def test_a_frozen_instance_shows_down_within_one_refresh(dash, page):
    stack, _ = dash
    frozen, other = stack["products-2"], stack["products"]
    state = page.locator(f'tr[data-instance="{frozen.url}"] .state')
    assert state.inner_text() == "up"
    assert page.locator(f'tr[data-instance="{other.url}"] .state').inner_text() == "up"

    os.killpg(frozen.process.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        state.filter(has_text="down").wait_for(timeout=(REFRESH_SECONDS + 3) * 1000)
        took = time.monotonic() - stopped
        assert "unreachable" in state.get_attribute("title")
        assert page.locator(f'tr[data-instance="{other.url}"] .state').inner_text() == "up"
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "dashboard-1440-down.png"), full_page=False)
    finally:
        os.killpg(frozen.process.pid, signal.SIGCONT)
    # One refresh, and the poll of /ready that the frozen instance lets time out.
    assert took <= REFRESH_SECONDS + 2.5, took
