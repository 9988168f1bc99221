"""Bodies that break parsers are 400 problem JSON, without authentication (#11 point 9)."""

from __future__ import annotations

from http import HTTPStatus

import pytest

pytestmark = pytest.mark.django_db

DEEP = "[" * 50_000


@pytest.mark.parametrize("path", ["/users/login", "/users/register", "/users/token/refresh"])
def test_deeply_nested_json_is_a_400_problem(api_client, path):
    response = api_client.post(path, DEEP, content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "https://errors.example/malformed-request"
