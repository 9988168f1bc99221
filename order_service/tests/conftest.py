from __future__ import annotations

import pytest
import responses as responses_lib
from django.conf import settings


@pytest.fixture
def products_url() -> str:
    return settings.COMMON["SERVICE_URLS"]["products"]


@pytest.fixture
def products(products_url):
    """The product service, faked at the HTTP level; unexpected calls fail the test."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def _no_real_http(request):
    """Tests that do not fake the product service must not reach a real one."""
    if "products" in request.fixturenames:
        yield
        return
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False):
        yield
