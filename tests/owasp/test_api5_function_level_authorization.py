"""API5:2023 Broken Function Level Authorization: staff functions need a staff token, and
internal functions are neither routed by the gateway nor open without the service token."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import requests

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/products"),
        ("PUT", "/products/1"),
        ("PATCH", "/products/1"),
        ("DELETE", "/products/1"),
    ],
)
def test_catalog_writes_are_for_staff_only(api_client, method, path):
    anonymous = api_client.call(method, path, {"name": "x"})
    customer = api_client.call(method, path, {"name": "x"}, token=api_client.user_token(601))

    assert anonymous[0] == HTTPStatus.UNAUTHORIZED
    assert customer[0] == HTTPStatus.FORBIDDEN
    assert customer[2]["type"].endswith("/permission-denied")


def test_a_customer_cannot_see_everyones_orders_with_a_staff_claim_they_forged(api_client):
    forged = api_client.user_token(602)[:-4] + "AAAA"  # signature broken

    status, _, _ = api_client.call("GET", "/orders", token=forged)

    assert status == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("products", "POST", "/internal/reservations"),
        ("products", "POST", "/internal/reservations/x/release"),
        ("users", "POST", "/internal/users/authenticate"),
        ("users", "GET", "/internal/users/status?username=ops"),
    ],
)
def test_internal_functions_need_the_service_token(api_client, service, method, path):
    direct = api_client.call(method, path, {}, service=service, token=api_client.staff_token())
    through_gateway = api_client.call(method, path, {}, token=api_client.staff_token())

    # A user's token, staff or not, is no service token: no credential for this path.
    assert direct[0] == HTTPStatus.UNAUTHORIZED
    assert through_gateway[0] == HTTPStatus.NOT_FOUND


def test_the_admin_needs_a_signed_in_staff_session(api_client):
    for service in ("gateway", "users", "products", "orders"):
        answer = requests.get(
            f"{api_client.url(service)}/admin/", allow_redirects=False, timeout=10
        )

        assert answer.status_code == HTTPStatus.FOUND, service
        assert answer.headers["Location"].startswith("/admin/login/")
