from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.test import Client

PROBLEM = "application/problem+json"


def test_unknown_url_is_a_json_404(client):
    response = client.get("/no/such/thing")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "https://errors.example/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "No resource at /no/such/thing.",
    }


def test_validation_errors_keep_drfs_shape_and_a_readable_detail(client):
    response = client.post(
        "/items", {"name": "x" * 11, "price": "-1"}, content_type="application/json"
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "https://errors.example/validation",
        "title": "Invalid input",
        "status": 400,
        "detail": "name: Ensure this field has no more than 10 characters.; "
        "price: Ensure this value is greater than or equal to 0.",
        "errors": {
            "name": ["Ensure this field has no more than 10 characters."],
            "price": ["Ensure this value is greater than or equal to 0."],
        },
    }


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/items", data=b"{not json", content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["type"] == "https://errors.example/malformed-request"
    assert body["detail"].startswith("JSON parse error")


def test_wrong_media_type_is_a_415_problem(client):
    response = client.post(
        "/items", data="name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response["Content-Type"] == PROBLEM


def test_oversized_body_is_a_413_problem(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = client.post(
        "/items", data=b'{"name": "' + b"x" * 200 + b'"}', content_type="application/json"
    )
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["type"] == "https://errors.example/payload-too-large"


def test_a_specific_problem_type_and_extra_members(client):
    response = client.post("/conflict", {}, content_type="application/json")
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "type": "https://errors.example/insufficient-stock",
        "title": "Conflict",
        "status": 409,
        "detail": "Not enough stock.",
        "items": [{"product_id": 7}],
    }


def test_unhandled_exception_is_a_json_500_without_traceback():
    client = Client(raise_request_exception=False)
    response = client.get("/boom")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response["Content-Type"] == PROBLEM
    assert "Traceback" not in response.content.decode()
    assert response.json()["detail"] == "The server failed to answer; the error was logged."


def test_djangos_bare_405_becomes_a_problem(client):
    response = client.get("/plain-post")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST"
    assert response.json()["detail"] == "Allowed methods: POST."


def test_drf_405_is_a_problem(client):
    response = client.delete("/items")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Content-Type"] == PROBLEM


def test_an_html_error_response_is_converted(client):
    response = client.get("/html-error")
    assert response.status_code == HTTPStatus.GONE
    assert response["Content-Type"] == PROBLEM


def test_csrf_failure_is_a_json_403():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "a", "password": "b"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "https://errors.example/csrf-failed"


@pytest.mark.parametrize("host", ["evil.example:99999", "bad host"])
def test_disallowed_host_is_a_json_400(host, settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    client = Client(raise_request_exception=False)
    response = client.get("/health/live", HTTP_HOST=host)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == PROBLEM


def test_a_django_validation_error_from_a_service_function_is_a_400_problem():
    from django.core.exceptions import ValidationError

    from common.http.problems import exception_handler

    response = exception_handler(ValidationError({"stock": ["Too many."]}), {})
    bare = exception_handler(ValidationError("Not like that."), {})

    assert response.status_code == 400
    assert json.loads(response.content)["errors"] == {"stock": ["Too many."]}
    assert json.loads(bare.content)["errors"] == {"non_field_errors": ["Not like that."]}
