"""What the gateway must not change in a service's answer, nor pass on of its own."""

from __future__ import annotations

from http import HTTPStatus

from common.testing import bearer
from gateway_project.tests.fake_upstream import Reply

COOKIES = [
    "a=1; Path=/; Priority=High",
    "__Host-b=2; Path=/; Secure; HttpOnly; SameSite=None; Partitioned",
    'c="quoted, with comma"; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/x',
    "a=3; Path=/other",
]


def _emitted_cookies(response) -> list[str]:
    """The Set-Cookie lines Django's WSGI handler writes for this response."""
    return [cookie.output(header="").strip() for cookie in response.cookies.values()]


def test_set_cookie_lines_come_back_exactly_as_the_service_sent_them(api_client, upstreams):
    upstreams["users"].responder = lambda received: Reply(
        200, b"{}", [("Content-Type", "application/json")] + [("Set-Cookie", c) for c in COOKIES]
    )

    response = api_client.get("/users/profile", headers=bearer())

    assert _emitted_cookies(response) == COOKIES


def test_head_keeps_the_services_content_length(api_client, upstreams):
    upstreams["products"].responder = lambda received: Reply(
        200, b'{"results": [1, 2, 3]}', [("Content-Type", "application/json")]
    )

    response = api_client.head("/products")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Length"] == str(len(b'{"results": [1, 2, 3]}'))
    assert upstreams["products"].received[0].method == "HEAD"


def test_204_gains_no_content_length(api_client, upstreams):
    upstreams["products"].responder = lambda received: Reply(204, b"")

    response = api_client.delete("/products/1", headers=bearer(user_id=2, is_staff=True))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not response.has_header("Content-Length")


def test_the_gateways_own_cookies_do_not_reach_the_services(api_client, upstreams):
    api_client.get(
        "/products",
        headers={"Cookie": "theme=dark; gateway_sessionid=s3cret; gateway_csrftoken=tok; lang=fr"},
    )

    assert upstreams["products"].received[0].headers["cookie"] == "theme=dark; lang=fr"


def test_a_cookie_header_of_only_gateway_cookies_is_not_forwarded(api_client, upstreams):
    api_client.get("/products", headers={"Cookie": "gateway_sessionid=s3cret"})

    assert "cookie" not in upstreams["products"].received[0].headers
