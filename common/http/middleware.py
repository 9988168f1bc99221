"""Request tracking and path normalisation that every project runs."""

from __future__ import annotations

import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from common.observability.context import request_id_var, traceparent_var
from common.observability.logging import log_fields

if TYPE_CHECKING:
    from rest_framework.request import Request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

access_logger = logging.getLogger("access")


def request_id_from(value: str | None) -> str:
    """The client's id when it is sane (printable, short, no spaces), else a new one."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


def traceparent_from(value: str | None) -> str:
    """A W3C traceparent for the calls this request makes: same trace, our own span id."""
    match = _TRACEPARENT.match((value or "").strip().lower())
    if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:
        trace_id, flags = match.group(1), match.group(3)
    else:
        trace_id, flags = secrets.token_hex(16), "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


class RequestIdMiddleware:
    """Accept or make X-Request-ID, expose it to logs and outgoing calls, and echo it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]  # the request's own
        id_token = request_id_var.set(request_id)
        trace_token = traceparent_var.set(traceparent_from(request.headers.get("traceparent")))
        try:
            response = self.get_response(request)
        finally:
            traceparent_var.reset(trace_token)
            request_id_var.reset(id_token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def access_log(request: HttpRequest | Request) -> dict[str, Any]:
    """The fields AccessLogMiddleware adds to the request's line: views add theirs here."""
    fields: dict[str, Any] = request.access_log  # type: ignore[union-attr]  # the middleware's
    return fields


class AccessLogMiddleware:
    """One JSON line per request; views add fields through `request.access_log`."""

    quiet_paths = ("/health", "/health/live", "/ready", "/metrics")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        fields: dict[str, Any] = {}
        request.access_log = fields  # type: ignore[attr-defined]  # read through access_log()
        response = self.get_response(request)
        level = logging.DEBUG if request.path in self.quiet_paths else logging.INFO
        if access_logger.isEnabledFor(level):
            user = getattr(request, "user", None)
            log_fields(
                access_logger,
                level,
                f"{request.method} {request.path} {response.status_code}",
                {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": getattr(user, "pk", None)
                    if getattr(user, "is_authenticated", False)
                    else None,
                    "client_ip": request.META.get("REMOTE_ADDR"),
                    **fields,
                },
            )
        return response


class OptionalTrailingSlashMiddleware:
    """Serve `/products/` as `/products` without a redirect, so POSTs keep their body.

    The admin and static files keep Django's own trailing-slash URLs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.exempt = ("/admin/", settings.STATIC_URL)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if len(path) > 1 and path.endswith("/") and not path.startswith(self.exempt):
            request.path_info = path.rstrip("/") or "/"
            request.path = f"{request.META.get('SCRIPT_NAME', '').rstrip('/')}{request.path_info}"
        return self.get_response(request)
