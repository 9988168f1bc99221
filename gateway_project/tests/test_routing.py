"""Every contract row reaches its service with the path unchanged; nothing else does."""

from __future__ import annotations

import json
from http import HTTPStatus
from urllib.parse import unquote

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.testing import bearer
from gateway_project.routing.table import route_from

# (method, path, service, who may call it)
CONTRACT = [
    ("POST", "/users/register", "users", "anyone"),
    ("POST", "/users/login", "users", "anyone"),
    ("POST", "/users/token/refresh", "users", "anyone"),
    ("POST", "/users/logout", "users", "user"),
    ("POST", "/users/password", "users", "user"),
    ("GET", "/users/profile", "users", "user"),
    ("PATCH", "/users/profile", "users", "user"),
    ("GET", "/users/.well-known/jwks.json", "users", "anyone"),
    ("GET", "/products", "products", "anyone"),
    ("POST", "/products", "products", "staff"),
    ("GET", "/products/7", "products", "anyone"),
    ("PUT", "/products/7", "products", "staff"),
    ("PATCH", "/products/7", "products", "staff"),
    ("DELETE", "/products/7", "products", "staff"),
    ("GET", "/orders", "orders", "user"),
    ("POST", "/orders", "orders", "user"),
    ("GET", "/orders/12", "orders", "user"),
    ("POST", "/orders/12/cancel", "orders", "user"),
]


def _credentials(who: str) -> dict[str, str]:
    return {"anyone": {}, "user": bearer(), "staff": bearer(user_id=2, is_staff=True)}[who]


@pytest.mark.parametrize(("method", "path", "service", "who"), CONTRACT)
def test_contract_route_reaches_its_service_unchanged(
    api_client, upstreams, method, path, service, who
):
    response = api_client.generic(
        method, f"{path}?a=1&b=x%20y", b'{"k": 1}', "application/json", headers=_credentials(who)
    )

    assert response.status_code == HTTPStatus.OK
    assert json.loads(response.content) == {
        "service": service,
        "method": method,
        "path": f"{path}?a=1&b=x%20y",
    }
    assert sum(len(server.received) for server in upstreams.values()) == 1


@pytest.mark.parametrize(("method", "path", "service", "who"), CONTRACT)
def test_trailing_slash_is_the_same_route_without_redirect(
    api_client, upstreams, method, path, service, who
):
    response = api_client.generic(
        method, f"{path}/", b"{}", "application/json", headers=_credentials(who)
    )

    assert response.status_code == HTTPStatus.OK
    assert json.loads(response.content)["path"] == path
    assert json.loads(response.content)["service"] == service


@pytest.mark.parametrize(
    "path",
    [
        "/internal/reservations",
        "/internal/reservations/abc/release",
        "/products/7/reserve",
        "/nowhere",
        "/users",
        "/users/admin/",
        "/orders/1/cancel/now",
        "/products/..",
        "/orders/%2E%2E/cancel",
        "/products/./",
    ],
)
def test_unlisted_path_is_the_gateways_own_404_without_an_upstream_call(
    api_client, upstreams, path
):
    response = api_client.post(path, b"{}", content_type="application/json", headers=bearer())

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content) == {
        "type": "https://errors.example/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": f"No resource at {unquote(path).rstrip('/')}.",
    }
    assert all(server.received == [] for server in upstreams.values())


def test_method_not_in_the_table_is_405_without_an_upstream_call(api_client, upstreams):
    response = api_client.delete("/orders/12", headers=bearer())

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD"
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["status"] == 405
    assert upstreams["orders"].received == []


def test_head_follows_get(api_client, upstreams):
    response = api_client.head("/products/3")

    assert response.status_code == HTTPStatus.OK
    assert upstreams["products"].received[0].method == "HEAD"


def test_route_table_refuses_internal_paths_and_unknown_policies():
    with pytest.raises(ImproperlyConfigured, match="internal endpoints are never proxied"):
        route_from({"path": "internal/reservations", "service": "products", "methods": {}})
    with pytest.raises(ImproperlyConfigured, match="'admin'"):
        route_from({"path": "products", "service": "products", "methods": {"GET": "admin"}})
    with pytest.raises(ImproperlyConfigured, match="unknown service 'billing'"):
        route_from({"path": "bills", "service": "billing", "methods": {"GET": "public"}})


def test_route_keeps_unknown_keys_for_later_per_route_settings():
    route = route_from(
        {
            "path": "/products/",
            "service": "products",
            "methods": {"get": "public"},
            "cache_seconds": 5,
        }
    )

    assert route.path == "products"
    assert route.methods == {"GET": "public"}
    assert route.allowed_methods == ["GET", "HEAD"]
    assert route.extra == {"cache_seconds": 5}


def test_the_gateways_internal_endpoints_are_the_ones_the_inventory_test_checks():
    """tests/owasp/test_api9_improper_inventory.py sends each a staff token (refused):
    an internal endpoint added here must be added there."""
    from django.urls import get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, text)
            else:
                yield text

    internal = sorted(path for path in walk(get_resolver().url_patterns) if "internal/" in path)
    assert internal == [
        "internal/cache/purge",
        "internal/registry/instances",
        "internal/registry/instances/<str:service>/<str:instance_id>",
    ]
