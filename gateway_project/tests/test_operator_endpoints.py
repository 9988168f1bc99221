"""In production the gateway serves /ready, /metrics, /api/schema and /api/docs to operators
only (the ops token, or a client in GATEWAY_OPS_NETWORKS); development to everyone."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

OPERATOR_PATHS = ["/ready", "/metrics", "/api/schema", "/api/docs"]
TOKEN = "ops-token-for-the-test"


@pytest.fixture
def production(settings):
    settings.APP_ENV = "production"
    settings.GATEWAY = {
        **settings.GATEWAY,
        "OPS_TOKEN": TOKEN,
        "OPS_NETWORKS": ("127.0.0.0/8", "::1", "10.20.0.0/16"),
        "TRUSTED_PROXIES": ("192.0.2.10",),
    }


def get(path: str, remote: str, **headers: str):
    return Client(REMOTE_ADDR=remote).get(path, headers=headers)


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_a_stranger_gets_the_404_of_an_unknown_path(production, path):
    response = get(path, "203.0.113.7")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == 404
    assert body["detail"] == f"No resource at {path}."
    # A wrong token, or one of another scheme, opens nothing either.
    assert get(path, "203.0.113.7", Authorization="Bearer wrong").status_code == 404
    assert get(path, "203.0.113.7", Authorization=f"Basic {TOKEN}").status_code == 404


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_with_the_defaults_production_serves_them_to_the_loopback_only(settings, path):
    settings.APP_ENV = "production"
    assert get(path, "203.0.113.7").status_code == 404
    assert get(path, "2001:db8::7").status_code == 404
    assert get(path, "127.0.0.1").status_code == 200


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_the_ops_token_or_an_ops_network_opens_them(production, path):
    assert get(path, "203.0.113.7", Authorization=f"Bearer {TOKEN}").status_code == 200
    assert get(path, "10.20.3.4").status_code == 200
    assert get(path, "127.0.0.1").status_code == 200  # the container's own healthcheck


def test_liveness_and_the_routes_stay_public(production):
    assert get("/health/live", "203.0.113.7").status_code == 200


def test_the_client_is_the_one_trusted_proxies_name(production):
    # Through a trusted proxy: the client it names decides, not the proxy's own address.
    outsider = get("/metrics", "192.0.2.10", X_FORWARDED_FOR="203.0.113.7")
    assert outsider.status_code == 404
    inside = get("/metrics", "192.0.2.10", X_FORWARDED_FOR="10.20.3.4")
    assert inside.status_code == 200
    # A client cannot name itself an operator network through an untrusted peer.
    assert get("/metrics", "203.0.113.7", X_FORWARDED_FOR="127.0.0.1").status_code == 404


def test_a_proxy_on_the_loopback_the_gateway_was_not_told_about_opens_nothing(production):
    """A sidecar proxy connects from 127.0.0.1: what it forwards is nobody's loopback."""
    forwarded = get("/ready", "127.0.0.1", X_FORWARDED_FOR="203.0.113.7")
    assert forwarded.status_code == 404
    with_token = get(
        "/ready", "127.0.0.1", X_FORWARDED_FOR="203.0.113.7", Authorization=f"Bearer {TOKEN}"
    )
    assert with_token.status_code == 200


def test_no_token_configured_means_no_token_opens_them(production, settings):
    settings.GATEWAY = {**settings.GATEWAY, "OPS_TOKEN": ""}
    assert get("/metrics", "203.0.113.7", Authorization="Bearer ").status_code == 404
    assert get("/metrics", "203.0.113.7", Authorization="Bearer").status_code == 404


def test_development_serves_them_to_everyone(settings):
    settings.APP_ENV = "development"
    for path in OPERATOR_PATHS:
        assert get(path, "203.0.113.7").status_code == 200, path


def test_a_bad_network_setting_stops_the_start():
    from django.core.exceptions import ImproperlyConfigured

    from gateway_project.conf import GatewaySettings

    with pytest.raises(ImproperlyConfigured, match="OPS_NETWORKS"):
        GatewaySettings.from_mapping({"OPS_NETWORKS": "10.0.0.0/33"})
