"""A signed token whose claims have the wrong types is refused with 401, never a 500."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from common.testing import ODD_CLAIMS, access_token, authorization, odd_claims_id

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("claims", ODD_CLAIMS, ids=odd_claims_id)
def test_a_token_with_odd_claim_types_is_refused_with_401(api_client, claims):
    headers = authorization(access_token(**{"is_staff": True, **claims}))

    response = api_client.post("/products", {"name": "x"}, format="json", headers=headers)

    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == HTTPStatus.UNAUTHORIZED
