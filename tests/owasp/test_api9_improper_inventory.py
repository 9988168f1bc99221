"""API9:2023 Improper Inventory Management: the gateway exposes exactly its route table,
every routed path is documented by its service, and nothing internal or operational
(internal APIs, services' admins, schemas, metrics) is reachable through it."""

from __future__ import annotations

import re

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


def documented_paths(api_client, service: str) -> set[str]:
    schema = requests.get(f"{api_client.url(service)}/api/schema?format=json", timeout=10).json()
    return {re.sub(r"\{[^}]+\}", "{id}", path) for path in schema["paths"]}


def test_every_documented_public_path_is_routed_and_nothing_else(api_client):
    documented = {
        (service, path)
        for service in ("users", "products", "orders")
        for path in documented_paths(api_client, service)
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
def test_what_is_not_in_the_table_is_not_reachable_through_the_gateway(api_client, path, method):
    """Never a service's admin, schema or internal API: a 4xx problem from the edge (or,
    for /products/{id}-shaped paths, the product service's 404 for that "id")."""
    answer = requests.request(method, f"{api_client.url()}{path}", json={}, timeout=10)

    assert answer.status_code in (404, 405), (method, path, answer.status_code)
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "administration" not in answer.text


# The gateway's own internal endpoints (its URLconf: gateway_project/tests/test_routing.py
# checks there are no others): service to gateway only.
GATEWAY_INTERNAL = [
    ("POST", "/internal/registry/instances"),
    ("DELETE", "/internal/registry/instances/products/10.0.0.5:8002"),
    ("POST", "/internal/cache/purge"),
]


def test_the_gateways_own_internal_endpoints_refuse_anyone_without_the_service_token(api_client):
    """Each refuses a caller without the service token, even one with a staff token."""
    for method, path in GATEWAY_INTERNAL:
        answer = requests.request(
            method,
            f"{api_client.url()}{path}",
            json={},
            headers={"Authorization": f"Bearer {api_client.staff_token()}"},
            timeout=10,
        )
        assert answer.status_code in (401, 403), (method, path, answer.status_code)
