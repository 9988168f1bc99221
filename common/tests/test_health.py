from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import OperationalError

from common.observability import health

pytestmark = pytest.mark.django_db


def test_liveness_touches_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok", "service": "gateway"}


def test_ready_when_database_and_cache_answer(client):
    response = client.get("/ready")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up",
        "cache": "up",
    }


def test_database_down_makes_ready_503_naming_it(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", refuse)
    response = client.get("/ready")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["database"]["error"] == "OperationalError: connection refused"
    assert body["checks"]["cache"]["status"] == "up"


def test_cache_down_makes_ready_503_naming_it(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    response = client.get("/ready")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["checks"]["cache"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "up"


def test_metrics_are_prometheus_text(client):
    client.get("/health/live")
    response = client.get("/metrics")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/plain")
    assert b"django_http_requests_total_by_method_total" in response.content


def test_openapi_schema_and_swagger_ui_are_served_locally(client):
    schema = client.get("/api/schema")
    assert schema.status_code == HTTPStatus.OK
    assert schema.content.startswith(b"openapi: 3")
    docs = client.get("/api/docs")
    assert docs.status_code == HTTPStatus.OK
    page = docs.content.decode()
    assert "/static/gateway/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


@pytest.mark.parametrize("path", ["/health/live", "/ready", "/metrics"])
@pytest.mark.parametrize("method", ["post", "put", "delete", "trace", "options", "query"])
def test_the_probes_answer_get_and_head_only(client, path, method):
    response = client.generic(method.upper(), path)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Content-Type"] == "application/problem+json"
    assert response["Allow"] == "GET, HEAD"
    assert client.head(path).status_code == HTTPStatus.OK
