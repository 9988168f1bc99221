from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.management import call_command

from common.http.openapi_examples import (
    body_example,
    default_request,
    example_problems,
    security_problems,
)
from common.testing import CHECKED_ADMIN_PAGES, admin_page_statuses, bearer
from order_service.tests.factories import confirmed_order

pytestmark = pytest.mark.django_db


def test_admin_lists_searches_and_filters_orders(admin_client):
    mine = confirmed_order(user_id=41)
    other = confirmed_order(user_id=42)
    page = admin_client.get("/admin/orders/order/")
    assert page.status_code == HTTPStatus.OK
    assert str(mine.id) in page.text
    assert str(other.id) in page.text
    by_id = admin_client.get("/admin/orders/order/", {"q": str(mine.id)})
    assert str(mine.id) in by_id.text
    assert str(other.id) not in by_id.text
    by_user = admin_client.get("/admin/orders/order/", {"q": "42"})
    assert str(other.id) in by_user.text
    assert str(mine.id) not in by_user.text
    nonsense = admin_client.get("/admin/orders/order/", {"q": "no such thing"})
    assert nonsense.status_code == HTTPStatus.OK
    by_status = admin_client.get("/admin/orders/order/", {"status__exact": "cancelled"})
    assert str(mine.id) not in by_status.text
    by_date = admin_client.get(
        "/admin/orders/order/", {"created_at__gte": "2000-01-01 00:00:00+00:00"}
    )
    assert by_date.status_code == HTTPStatus.OK


def test_admin_shows_items_inline(admin_client):
    order = confirmed_order(lines=((7, "Sprocket", "3.10", 4),))
    page = admin_client.get(f"/admin/orders/order/{order.id}/change/")
    assert page.status_code == HTTPStatus.OK
    assert "Sprocket" in page.text
    assert "3.10" in page.text


def test_openapi_schema_is_valid_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    schema = (tmp_path / "schema.yaml").read_text()
    assert "/orders/{id}/cancel:" in schema
    assert "Idempotency-Key" in schema


def test_an_order_admin_page_number_naming_no_page_is_404(admin_client):
    confirmed_order(user_id=43)

    assert admin_page_statuses(admin_client, "/admin/orders/order/") == CHECKED_ADMIN_PAGES


def test_every_operation_has_a_summary_an_id_for_deep_links_and_valid_examples(client):
    document = client.get("/api/schema", {"format": "json"}).json()

    assert example_problems(document) == []
    assert security_problems(document) == []
    place = body_example(document["paths"]["/orders"]["post"])
    assert place == {"items": [{"product_id": 1, "quantity": 1}]}  # a demo product


def test_the_list_examples_list_from_the_newest(client):
    document = client.get("/api/schema", {"format": "json"}).json()
    request = default_request(document, "/orders", "get")
    mine = confirmed_order(user_id=2)

    response = client.get(request.path, request.query, headers=bearer(user_id=2))

    assert response.status_code == HTTPStatus.OK
    assert [order["id"] for order in response.json()["results"]] == [str(mine.id)]
