"""The API's short path: token-authenticated DRF views skip the page middleware and keep
everything else (request id, access log, metrics, security headers, problem answers)."""

from __future__ import annotations

import logging
from http import HTTPStatus

import pytest
from django.test import Client
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from prometheus_client import REGISTRY

from common.http.api_path import is_api_view
from common.tests import urls

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("view", "api"),
    [
        (urls.whoami, True),
        (urls.api_seen, True),
        (urls.session_seen, False),  # signs in with a session: the full chain
        (SpectacularAPIView.as_view(), False),  # the docs are pages
        (SpectacularSwaggerView.as_view(), False),
        (urls.echo_path, False),  # not DRF
    ],
)
def test_which_views_take_the_api_path(view, api):
    assert is_api_view(view) is api


def test_an_api_view_skips_sessions_auth_and_messages(client):
    response = client.get("/api-seen")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"session": False, "messages": False, "django_auth": False}


def test_a_session_view_still_runs_the_full_chain(client):
    response = client.get("/session-seen")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"session": True, "messages": True, "django_auth": True}


def test_the_api_path_keeps_request_id_headers_and_length(client):
    response = client.get("/api-seen/", headers={"X-Request-ID": "lean-1"})
    assert response.status_code == HTTPStatus.OK  # the trailing slash still served
    assert response["X-Request-ID"] == "lean-1"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(response.content))


def test_the_api_path_writes_the_access_line_with_the_token_user(client, caplog):
    from common.testing import bearer

    caplog.set_level(logging.INFO, logger="access")
    response = client.get("/whoami", headers={"X-Request-ID": "lean-2", **bearer(user_id=9)})
    assert response.status_code == HTTPStatus.OK
    [record] = [r for r in caplog.records if r.name == "access"]
    assert (record.request_id, record.path, record.status, record.user_id) == (
        "lean-2",
        "/whoami",
        200,
        9,
    )


def _responses(view: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "django_http_responses_total_by_status_view_method_total",
        {"status": status, "view": view, "method": "GET"},
    )
    return value or 0.0


def test_the_api_path_counts_responses_by_view(client):
    before = _responses("common.tests.urls.api_seen", "200")
    client.get("/api-seen")
    assert _responses("common.tests.urls.api_seen", "200") == before + 1


def test_api_path_errors_are_problems():
    client = Client(raise_request_exception=False)
    unauthorized = client.get("/whoami")
    assert unauthorized.status_code == HTTPStatus.UNAUTHORIZED
    assert unauthorized["Content-Type"] == "application/problem+json"
    failed = client.get("/api-boom", headers={"X-Request-ID": "lean-3"})
    assert failed.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert failed["Content-Type"] == "application/problem+json"
    assert failed["X-Request-ID"] == "lean-3"
    assert failed.json()["status"] == 500
    not_allowed = client.post("/api-seen", data=b"{}", content_type="application/json")
    assert not_allowed.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert not_allowed["Content-Type"] == "application/problem+json"


def test_pages_keep_the_full_chain(client):
    login = client.get("/admin/login/")
    assert login.status_code == HTTPStatus.OK
    assert login.cookies  # the CSRF cookie of the login form: CsrfViewMiddleware ran
    docs = client.get("/api/docs")
    assert docs.status_code == HTTPStatus.OK
    assert docs["Content-Type"].startswith("text/html")
