"""The front door over real HTTP (no browser): the merged document of the real services,
and every admin through the gateway with one sign-in."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import requests
from openapi_spec_validator import validate

from devtools.harness import json_call, superuser_create

pytestmark = pytest.mark.e2e

STAFF, PASSWORD = "e2e-front-door", "front-door-Secret-43"


def test_openapi_json_merges_the_real_services_into_a_valid_document(stack):
    status, _, doc = json_call("GET", f"{stack['gateway'].url}/openapi.json")

    assert status == HTTPStatus.OK
    validate(doc)
    assert doc["servers"] == [{"url": "/", "description": "the gateway"}]
    assert {"/users/profile", "/products/{id}", "/orders/{id}/cancel", "/health"} <= set(
        doc["paths"]
    )
    assert not [path for path in doc["paths"] if path.startswith(("/internal", "/admin"))]
    assert doc["paths"]["/products"]["post"]["x-gateway-policy"] == "staff"
    assert doc["paths"]["/products"]["get"]["security"] == [{}, {"jwtAuth": []}]
    assert doc["paths"]["/users/login"]["post"]["security"] == [{}]
    assert doc["paths"]["/users/profile"]["get"]["security"] == [{"jwtAuth": []}]


def test_every_service_document_is_served_for_the_hub(stack):
    for name in ("users", "products", "orders", "gateway"):
        status, _, doc = json_call("GET", f"{stack['gateway'].url}/docs/specs/{name}.json")
        assert status == HTTPStatus.OK, name
        assert "x-unavailable" not in doc, name
        assert doc["paths"], name


@pytest.fixture(scope="module")
def staff(stack) -> str:
    return superuser_create(stack, STAFF, PASSWORD, email="front@example.com")


def test_one_sign_in_through_the_gateway_opens_every_admin(stack, staff):
    gateway = stack["gateway"].url
    session = requests.Session()
    form = session.get(f"{gateway}/admin/products/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)

    signed_in = session.post(
        f"{gateway}/admin/products/login/?next=/admin/products/",
        data={"csrfmiddlewaretoken": csrf, "username": staff, "password": PASSWORD},
        headers={"Origin": gateway},
        allow_redirects=False,
        timeout=10,
    )

    assert signed_in.status_code == HTTPStatus.FOUND
    assert signed_in.headers["Location"] == "/admin/products/"
    for name, title in (("products", "Product"), ("orders", "Order"), ("users", "User")):
        page = session.get(f"{gateway}/admin/{name}/", allow_redirects=False, timeout=10)
        assert page.status_code == HTTPStatus.OK, name
        assert f"{title} service administration" in page.text
        css = re.search(r'href="(/static/[^"]+/base\.css)"', page.text).group(1)
        assert css == f"/static/{name}/admin/css/base.css"
        assert session.get(f"{gateway}{css}", timeout=10).status_code == HTTPStatus.OK
    own = session.get(f"{gateway}/admin/", allow_redirects=False, timeout=10)
    assert "API gateway administration" in own.text
    paths = {cookie.name: cookie.path for cookie in session.cookies}
    assert paths["products_sessionid"] == "/admin/products/"
    assert paths["orders_sessionid"] == "/admin/orders/"
    assert paths["admin_sso"] == "/admin/"
