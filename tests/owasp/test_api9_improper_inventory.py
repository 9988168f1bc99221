"""API9:2023 Improper Inventory Management: the gateway exposes exactly its route table,
every routed path is documented by its service, and nothing internal or operational
(internal APIs, services' admins, schemas, metrics) is reachable through it."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import requests

pytestmark = pytest.mark.e2e

# The public contract: what the gateway forwards, as (service, path template).
PUBLIC_ROUTES = {
    ("users", "/users/register"),
    ("users", "/users/login"),
    ("users", "/users/token/refresh"),
    ("users", "/users/logout"),
    ("users", "/users/password"),
    ("users", "/users/profile"),
    ("users", "/users/.well-known/jwks.json"),
    ("products", "/products"),
    ("products", "/products/{id}"),
    ("orders", "/orders"),
    ("orders", "/orders/{id}"),
    ("orders", "/orders/{id}/cancel"),
}


def documented_paths(api, service: str) -> set[str]:
    schema = requests.get(f"{api.url(service)}/api/schema?format=json", timeout=10).json()
    return {re.sub(r"\{[^}]+\}", "{id}", path) for path in schema["paths"]}


def test_every_documented_public_path_is_routed_and_nothing_else(api):
    documented = {
        (service, path)
        for service in ("users", "products", "orders")
        for path in documented_paths(api, service)
        if not path.startswith("/internal/")
    }

    assert documented == PUBLIC_ROUTES


@pytest.mark.parametrize(
    "path",
    [
        "/internal/reservations",
        "/internal/users/authenticate",
        "/internal/users/status",
        "/users/admin/",
        "/products/admin/",
        "/products/api/schema",
        "/orders/1/cancel/extra",
        "/ready/../internal/reservations",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_what_is_not_in_the_table_is_not_reachable_through_the_gateway(api, path, method):
    """Never a service's admin, schema or internal API: a 4xx problem from the edge (or,
    for /products/{id}-shaped paths, the product service's 404 for that "id")."""
    answer = requests.request(method, f"{api.url()}{path}", json={}, timeout=10)

    assert answer.status_code in (404, 405), (method, path, answer.status_code)
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "administration" not in answer.text


def test_the_gateway_describes_its_own_inventory_only_to_staff_or_operators(api):
    """/metrics and the schemas on the gateway are its own, never a service's."""
    schema = requests.get(f"{api.url()}/api/schema?format=json", timeout=10)

    assert schema.status_code == HTTPStatus.OK
    assert not any(path.startswith("/internal/") for path in schema.json()["paths"])
