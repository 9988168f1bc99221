"""Every error as RFC 9457 problem details: DRF views, Django's handlers, CSRF, the rest."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from common.settings.namespaces import common_settings

PROBLEM_CONTENT_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)

# The `type` slug for a status when nothing more specific is known.
STATUS_TYPES = {
    400: "bad-request",
    401: "not-authenticated",
    403: "permission-denied",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "unprocessable-content",
    429: "throttled",
    500: "server-error",
    502: "bad-gateway",
    503: "service-unavailable",
    504: "gateway-timeout",
}

# DRF exception classes whose meaning is narrower than their status.
EXCEPTION_TYPES = {
    exceptions.ValidationError: "validation",
    exceptions.ParseError: "malformed-request",
    exceptions.AuthenticationFailed: "authentication-failed",
}


def problem_type(slug: str) -> str:
    base = common_settings.PROBLEM_TYPE_BASE
    return f"{base}{slug}"


def problem(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    """A problem-details response; `slug` tells apart two answers with one status."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": problem_type(slug or STATUS_TYPES.get(status, "error")),
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _codes(codes: Any) -> set[str]:
    """Every error code in DRF's nested `get_codes()` shape."""
    if isinstance(codes, dict):
        return set().union(*map(_codes, codes.values())) if codes else set()
    if isinstance(codes, list):
        return set().union(*map(_codes, codes)) if codes else set()
    return {str(codes)}


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    """'field: message' lines from DRF's nested {field: [messages]} shape."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            label = "" if key == "non_field_errors" else f"{prefix}{key}"
            lines += _flatten(value, f"{label}." if label else "")
        return lines
    if isinstance(errors, list):
        return [line for item in errors for line in _flatten(item, prefix)]
    text = str(errors)
    return [f"{prefix.rstrip('.')}: {text}" if prefix else text]


# The database cannot be reached or dropped the connection: the service is unavailable
# for now (a 503 the client may retry), not broken (a 500).
DATABASE_DOWN = (OperationalError, InterfaceError)


def database_unavailable(error: Exception) -> HttpResponse:
    logger.warning("database unavailable: %s", error)
    return problem(
        503,
        "This service's database is unavailable; try again shortly.",
        slug="database-unavailable",
        headers={"Retry-After": "5"},
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's EXCEPTION_HANDLER: DRF's own answer, rewritten as problem details.

    Exceptions DRF does not know return None, so Django's handler500 answers (as JSON).
    """
    if isinstance(exc, RequestDataTooBig):
        return problem(413, "The request body is larger than this service accepts.")
    if isinstance(exc, DATABASE_DOWN):
        return database_unavailable(exc)
    if isinstance(exc, DjangoValidationError):
        # The one place Django's ValidationError (raised by service functions: their own
        # checks, full_clean, password validators) becomes DRF's: bad input, 400.
        exc = exceptions.ValidationError(as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    slug = getattr(exc, "problem_type", None)
    if slug is None:
        slug = next((s for cls, s in EXCEPTION_TYPES.items() if isinstance(exc, cls)), None)
    extra = dict(getattr(exc, "problem_extra", {}) or {})
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        # Input that is valid but names what exists already (a taken SKU or username)
        # conflicts with the current state: 409, as the schema documents for writes.
        conflict = _codes(exc.get_codes()) == {"unique"}
        status = 409 if conflict else response.status_code
        result = problem(
            status,
            "; ".join(_flatten(errors)),
            slug="conflict" if conflict else slug,
            title="Conflict" if status == 409 else "Invalid input",
            errors=errors,
            **extra,
        )
    else:
        detail = data.get("detail") if isinstance(data, dict) else None
        result = problem(
            response.status_code,
            str(detail) if detail is not None else None,
            slug=slug,
            **extra,
        )
    for name, value in response.items():
        if name.lower() not in ("content-type", "content-length"):
            result[name] = value
    if isinstance(exc, exceptions.Throttled):
        wait: float | None = exc.wait  # type: ignore[attr-defined]  # set in __init__, not stubbed
        if wait is not None:
            result["Retry-After"] = str(max(1, int(wait + 0.999)))
    return result


# Django's handlers, named by every project's root URLconf through common.urls.


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return problem(413, "The request body is larger than this service accepts.")
    return problem(400, "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem(403, "You do not have permission to perform this action.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem(404, f"No resource at {request.path}.")


def server_error(request: HttpRequest) -> HttpResponse:
    return problem(500, "The server failed to answer; the error was logged.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return problem(403, f"CSRF verification failed: {reason}", slug="csrf-failed")


class ProblemDetailsMiddleware:
    """The safety net: an error response that is not JSON becomes problem details.

    Catches what no handler shapes: Django's bare 405s, views returning HTML errors.
    A view that must pass an error through untouched (the gateway's proxy) sets
    `response.problem_passthrough = True`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view outside DRF (the admin) meeting a database that is down: 503 too."""
        if isinstance(exception, DATABASE_DOWN):
            return database_unavailable(exception)
        return None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or getattr(response, "problem_passthrough", False):
            return response
        content_type = response.get("Content-Type", "")
        if "json" in content_type or response.streaming:
            return response
        detail = None
        if response.status_code == 405 and response.has_header("Allow"):
            detail = f"Allowed methods: {response['Allow']}."
        replacement = problem(response.status_code, detail)
        for name in ("Allow", "Retry-After", "WWW-Authenticate", "X-Request-ID"):
            if response.has_header(name):
                replacement[name] = response[name]
        return replacement
