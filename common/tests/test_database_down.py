"""A database out of reach is a 503 the client may retry, not a 500."""

from __future__ import annotations

import json

from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from common.http.problems import ProblemDetailsMiddleware, exception_handler


def test_drf_views_answer_503_with_retry_after_when_the_database_is_down():
    response = exception_handler(OperationalError("connection refused"), {})

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content)["type"].endswith("/database-unavailable")


def test_other_views_answer_503_too():
    middleware = ProblemDetailsMiddleware(lambda request: None)

    response = middleware.process_exception(RequestFactory().get("/admin/"), InterfaceError("x"))

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
