"""The landing page at the gateway's `/` in a real (headless) Chromium: it renders, every
link it lists answers (none a 404), the favicon is served (no 404, no console error), and
an API client gets the same links as JSON. A screenshot lands in docs/screenshots/landing.png
(the README shows it)."""

from __future__ import annotations

import json
import shutil
from http import HTTPStatus

import pytest

from common.topology import UPSTREAMS
from devtools.harness import REPO_ROOT, http, record_page_errors

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
LINKS = [
    "/docs",
    "/openapi.json",
    "/dashboard",
    "/admin/",
    *(f"/admin/{name}/" for name in UPSTREAMS),
    "/health",
]


def test_the_landing_page_renders_and_every_link_answers(stack):
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    gateway = stack["gateway"].url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 760}).new_page()
            page.set_default_timeout(20_000)
            record_page_errors(page, failed_answers=True)
            icons = []
            page.on("response", lambda r: icons.append(r) if "favicon" in r.url else None)
            page.goto(f"{gateway}/", wait_until="networkidle")
            assert page.title() == "Django API gateway"
            assert page.locator("h1").inner_text() == "Django API gateway"
            hrefs = page.eval_on_selector_all(
                "main ul a", "links => links.map(a => a.getAttribute('href'))"
            )
            assert hrefs == LINKS
            # Headless Chromium asks for no icon itself: the page's own, fetched from it.
            icon = page.evaluate(
                """async () => {
                  const answer = await fetch(document.querySelector("link[rel=icon]").href);
                  return [answer.status, answer.headers.get("content-type")];
                }"""
            )
            assert icon == [200, "image/svg+xml"]
            assert all(r.status == 200 for r in icons)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "landing.png"), full_page=True)
            assert page.errors == []
            # Each link, followed as a browser does (redirects to a sign-in page included).
            for href in LINKS:
                answer = page.request.get(f"{gateway}{href}", max_redirects=5)
                assert answer.status in (HTTPStatus.OK, HTTPStatus.SERVICE_UNAVAILABLE), (
                    href,
                    answer.status,
                )
            page.click("a[data-rel=docs]")
            page.wait_for_url(f"{gateway}/docs")
        finally:
            browser.close()


def test_an_api_client_gets_the_links_as_json_and_each_answers(stack):
    gateway = stack["gateway"].url
    status, headers, body = http("GET", f"{gateway}/", headers={"Accept": "application/json"})
    assert status == HTTPStatus.OK
    assert "Accept" in headers["Vary"]
    assert [link["href"] for link in json.loads(body)["links"]] == LINKS
    for href in LINKS:
        status, _, _ = http("GET", f"{gateway}{href}")
        # The admins and the dashboard send a visitor to sign in; /health may be 503.
        assert status in (200, 302, 503), (href, status)
    status, headers, _ = http("POST", f"{gateway}/", headers={"Accept": "application/json"})
    assert status == HTTPStatus.METHOD_NOT_ALLOWED
    status, headers, _ = http("GET", f"{gateway}/favicon.ico")
    assert status == HTTPStatus.OK
    assert headers["Content-Type"].startswith("image/")
