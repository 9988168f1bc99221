"""Edge revocation (common.identity.revocation) and the auth routes' indifference to bad tokens."""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus

import pytest

from common.identity import revocation
from common.identity.revocation import tokens_revoke_before
from common.testing import access_token


@pytest.fixture(autouse=True)
def _no_remembered_lookups(monkeypatch):
    """Every lookup asks the record, as once LOOKUP_CACHE_SECONDS have passed."""
    monkeypatch.setattr(revocation, "LOOKUP_CACHE_SECONDS", 0.0)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_issued_before_a_revocation_is_refused_at_the_edge(api_client, upstreams):
    old = access_token(user_id=31, iat_ms=int(time.time() * 1000) - 5)
    assert api_client.get("/orders", headers=auth(old)).status_code == HTTPStatus.OK

    tokens_revoke_before(31)
    refused = api_client.get("/orders", headers=auth(old))
    fresh = access_token(user_id=31, iat_ms=int(time.time() * 1000) + 5)

    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.json()["detail"] == "This token was revoked by a logout or password change."
    assert api_client.get("/orders", headers=auth(fresh)).status_code == HTTPStatus.OK
    assert api_client.get("/orders", headers=auth(access_token(user_id=32))).status_code == 200


@pytest.mark.parametrize("path", ["/users/logout", "/users/token/refresh", "/users/login"])
def test_auth_routes_forward_whatever_the_access_token(api_client, upstreams, path):
    expired = access_token(user_id=5, lifetime=-timedelta(minutes=5))

    for headers in ({}, auth(expired), auth("not.a.token")):
        response = api_client.post(
            path, {"refresh": "r"}, content_type="application/json", headers=headers
        )
        assert response.status_code == HTTPStatus.OK, (headers, response.content)
    assert len(upstreams["users"].received) == 3
