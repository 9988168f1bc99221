"""A signed token whose claims have the wrong types is refused with 401, never a 500."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from common.testing import ODD_CLAIMS, access_token, authorization, odd_claims_id

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("claims", ODD_CLAIMS, ids=odd_claims_id)
def test_a_token_with_odd_claim_types_is_refused_with_401(api_client, claims):
    headers = authorization(access_token(**{"is_staff": True, **claims}))

    response = api_client.get("/users/profile", headers=headers)

    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("claims", [{"exp": 10**12}, {"user_id": {"id": 1}}], ids=odd_claims_id)
def test_a_refresh_token_with_odd_claim_types_is_refused_with_401(api_client, claims):
    from user_service.accounts.tokens import RefreshToken

    token = RefreshToken()
    token.payload.update(claims)

    response = api_client.post("/users/token/refresh", {"refresh": str(token)}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
