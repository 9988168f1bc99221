"""Each caller its own service token, opening only the internal endpoints it needs."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from common.identity.auth import HasServiceToken, own_service_token
from common.identity.service_client import client_for

TOKENS = ["orders=orders-token", "gateway=gateway-token", "products=products-token"]


def _common(**changes: object) -> override_settings:
    return override_settings(COMMON={**settings.COMMON, **changes})


def _allowed(path: str, token: str | None) -> bool:
    headers = {"HTTP_X_SERVICE_TOKEN": token} if token is not None else {}
    request = Request(APIRequestFactory().post(path, **headers))
    return HasServiceToken().has_permission(request, view=None)


@pytest.mark.parametrize(
    ("path", "token", "allowed"),
    [
        ("/internal/reservations", "orders-token", True),
        ("/internal/reservations/ord-1/release", "orders-token", True),
        ("/internal/reservations", "gateway-token", False),
        ("/internal/users/authenticate", "gateway-token", True),
        ("/internal/users/authenticate", "products-token", True),
        ("/internal/users/authenticate", "forged", False),
        ("/internal/users/authenticate", None, False),
        ("/internal/something-new", "orders-token", False),
    ],
)
def test_a_callers_token_opens_only_the_endpoints_it_needs(path, token, allowed):
    with _common(SERVICE_TOKENS=TOKENS):
        assert _allowed(path, token) is allowed


def test_the_shared_service_token_opens_every_internal_endpoint_without_service_tokens():
    shared = settings.COMMON["SERVICE_TOKEN"]
    with _common(SERVICE_TOKENS=[]):
        assert _allowed("/internal/reservations", shared)
        assert _allowed("/internal/users/authenticate", shared)
        assert not _allowed("/internal/reservations", "forged")


def test_the_shared_token_is_refused_once_callers_have_their_own():
    with _common(SERVICE_TOKENS=TOKENS):
        assert not _allowed("/internal/reservations", settings.COMMON["SERVICE_TOKEN"])


def test_during_a_rotation_both_tokens_open_and_the_first_is_sent():
    rotating = ["orders=new-token", "orders=old-token"]
    with _common(SERVICE_TOKENS=rotating, SERVICE_NAME="orders"):
        assert _allowed("/internal/reservations", "old-token")
        assert _allowed("/internal/reservations", "new-token")
        assert own_service_token() == "new-token"
        assert client_for("products").session.headers["X-Service-Token"] == "new-token"


def test_a_project_without_its_own_token_sends_the_shared_one():
    with _common(SERVICE_TOKENS=["orders=orders-token"], SERVICE_NAME="gateway"):
        assert own_service_token() == settings.COMMON["SERVICE_TOKEN"]


def test_a_malformed_service_tokens_entry_is_a_configuration_error():
    with _common(SERVICE_TOKENS=["orders"]), pytest.raises(ImproperlyConfigured):
        own_service_token()
