"""Every service's admin and static files through the gateway: plain prefix routes."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from common.testing import CHECKED_ADMIN_PAGES, admin_page_statuses
from gateway_project.tests.fake_upstream import Received, Reply

LOGIN_PAGE = b"<!DOCTYPE html><html><body><form id='login-form'></form></body></html>"


def admin_page(received: Received) -> Reply:
    if received.method == "POST":
        return Reply(
            302,
            b"",
            [
                ("Location", "/admin/products/"),
                ("Set-Cookie", "products_sessionid=abc; HttpOnly; Path=/admin/products/"),
            ],
        )
    if received.path.endswith("missing/"):
        return Reply(404, b"<h1>Not Found</h1>", [("Content-Type", "text/html")])
    return Reply(200, LOGIN_PAGE, [("Content-Type", "text/html; charset=utf-8")])


@pytest.fixture
def admins(upstreams):
    for server in upstreams.values():
        server.responder = admin_page
    return upstreams


@pytest.mark.parametrize("name", ["users", "products", "orders"])
def test_each_admin_is_forwarded_to_its_service_with_its_slashes(api_client, admins, name):
    response = api_client.get(f"/admin/{name}/")

    assert response.status_code == HTTPStatus.OK
    assert response.content == LOGIN_PAGE
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert admins[name].received[-1].path == f"/admin/{name}/"


def test_forms_post_through_and_cookies_keep_their_path(api_client, admins):
    response = api_client.post(
        "/admin/products/login/?next=/admin/products/",
        "username=ops&password=pw",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/admin/products/"
    # The service's Set-Cookie line crosses as sent, its Path scoped to that admin.
    assert (
        response.cookies["products_sessionid"].output(header="")
        == "products_sessionid=abc; HttpOnly; Path=/admin/products/"
    )
    sent = admins["products"].received[-1]
    assert (sent.method, sent.path, sent.body) == (
        "POST",
        "/admin/products/login/?next=/admin/products/",
        b"username=ops&password=pw",
    )


def test_an_html_error_of_the_service_passes_through_unconverted(api_client, admins):
    response = api_client.get("/admin/orders/missing/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.content == b"<h1>Not Found</h1>"


def test_static_files_of_each_service_are_routed(api_client, admins):
    response = api_client.get("/static/users/admin/css/base.css")

    assert response.status_code == HTTPStatus.OK
    assert admins["users"].received[-1].path == "/static/users/admin/css/base.css"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/products/../../internal/reservations",
        "/admin/products/./x",
        "/static/products/..",
        "/admin/internal/",
    ],
)
def test_a_prefix_route_never_leaves_its_prefix(api_client, admins, path):
    response = api_client.get(path)

    # Not forwarded: the gateway's own admin (sign-in first) or its JSON 404 answers.
    assert response.status_code in (HTTPStatus.FOUND, HTTPStatus.NOT_FOUND)
    assert not any(server.received for server in admins.values())


def test_the_gateway_keeps_its_own_admin_at_admin(api_client, admins):
    response = api_client.get("/admin/login/")

    assert response.status_code == HTTPStatus.OK
    assert b"API gateway administration" in response.content
    assert not any(server.received for server in admins.values())


def test_a_gateway_admin_page_number_naming_no_page_is_404(admin_client):
    assert admin_page_statuses(admin_client, "/admin/auth/user/") == CHECKED_ADMIN_PAGES
