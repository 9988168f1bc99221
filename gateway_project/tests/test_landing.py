"""GET / (HTML for a browser, JSON for an API client), /favicon.ico, and the admin's
"View site" link to /."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

from common.settings.namespaces import common_settings
from common.topology import UPSTREAMS

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
EXPECTED_LINKS = [
    "/docs",
    "/openapi.json",
    "/dashboard",
    "/admin/",
    *(f"/admin/{name}/" for name in UPSTREAMS),
    "/health",
]


def test_a_browser_gets_the_landing_page_linking_every_place_to_start(client):
    response = client.get("/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/html")
    assert "Accept" in response["Vary"]
    html = response.content.decode()
    hrefs = re.findall(r'<a href="([^"]+)" data-rel=', html)
    assert hrefs == EXPECTED_LINKS
    assert '<link rel="icon" href="/favicon.ico"' in html


@pytest.mark.parametrize("accept", ["application/json", None, "*/*", "application/json, text/html"])
def test_an_api_client_gets_the_same_links_as_json(client, accept):
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    response = client.get("/", **extra)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert "Accept" in response["Vary"]
    body = response.json()
    assert body["name"] == "Django API gateway"
    assert [link["href"] for link in body["links"]] == EXPECTED_LINKS
    assert {link["rel"] for link in body["links"]} >= {"docs", "openapi", "dashboard", "health"}


def test_head_is_answered_and_post_is_a_405_problem(client):
    client = type(client)(enforce_csrf_checks=True)  # as a real client: not CSRF's 403
    assert client.head("/", HTTP_ACCEPT=BROWSER_ACCEPT).status_code == HTTPStatus.OK
    response = client.post("/", HTTP_ACCEPT="application/json")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Content-Type"] == "application/problem+json"
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


def test_favicon_is_an_image_cached_for_long(client):
    response = client.get("/favicon.ico")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("image/")
    assert response.content.startswith(b"<svg")
    max_age = int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1))
    assert max_age >= 24 * 3600
    assert client.post("/favicon.ico").status_code == HTTPStatus.METHOD_NOT_ALLOWED


@pytest.mark.parametrize("page", ["/docs", "/dashboard"])
def test_the_gateway_pages_link_the_favicon(admin_client, page, upstreams):
    response = admin_client.get(page)
    assert response.status_code == HTTPStatus.OK
    assert '<link rel="icon" href="/favicon.ico"' in response.content.decode()


def test_the_admins_view_site_goes_to_the_landing_page(client, db):
    assert admin.site.site_url == f"{common_settings.PUBLIC_ORIGIN}/"
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x-pass-9")
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == HTTPStatus.OK
    assert f'<a href="{common_settings.PUBLIC_ORIGIN}/">View site</a>' in response.content.decode()
