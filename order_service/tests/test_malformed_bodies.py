"""Bodies that break parsers and ids beyond any column: 400/404 problem JSON, never 500."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from common.testing import bearer

pytestmark = pytest.mark.django_db

DEEP = "[" * 50_000


def test_deeply_nested_json_is_a_400_problem(api_client):
    response = api_client.post("/orders", DEEP, content_type="application/json", headers=bearer())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["type"] == "https://errors.example/malformed-request"


def test_a_product_id_beyond_any_column_is_refused_before_reserving(api_client):
    response = api_client.post(
        "/orders",
        {"items": [{"product_id": 10**20, "quantity": 1}]},
        format="json",
        headers=bearer(),
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "product_id" in response.json()["errors"]["items"]["0"]
