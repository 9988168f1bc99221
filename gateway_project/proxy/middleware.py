"""The proxy's short path through Django: only the middleware a forwarded request needs.

Sessions, CSRF, Django's auth, messages, static files and django-prometheus's request
metrics serve the gateway's own pages (admin, docs); a forwarded request needs none of
them, and they cost a good part of the gateway's CPU per request (docs/performance.md,
"What was done in the first round", the proxy fast path).
This middleware sits after CORS, request id, access log and trailing-slash handling: a
path that resolves to a proxy route is answered by the proxy view right here; any other
path continues down the full chain.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

from common.http.problems import problem
from gateway_project.proxy.dispatch import full_handling
from gateway_project.proxy.pipeline import record
from gateway_project.transport.forwarding import (
    hop_by_hop_credential,
    unsendable_header,
    upstream_query,
)

Handler = Callable[[HttpRequest], HttpResponse]


# No body, so no Content-Length either (RFC 9110 §8.6: a 1xx or 204 answer must not
# carry one; a 304 would describe the representation, not this empty answer).
BODYLESS_STATUSES = frozenset({204, 304})


def set_content_length(request: HttpRequest, response: HttpResponse) -> None:
    """The length CommonMiddleware would set; a HEAD answer keeps the service's."""
    if response.has_header("Content-Length"):
        return
    if response.status_code in BODYLESS_STATUSES or response.status_code < 200:
        return
    upstream_length = getattr(response, "upstream_content_length", None)
    if request.method == "HEAD" and upstream_length is not None:
        response["Content-Length"] = upstream_length
    else:
        response["Content-Length"] = str(len(response.content))


def unforwardable(request: HttpRequest) -> HttpResponse | None:
    """400 for a request the gateway cannot send on as it came; its query made sendable."""
    if query := request.META.get("QUERY_STRING"):
        sendable = upstream_query(query)
        if sendable is None:
            return problem(
                400,
                "The query string holds a raw space or control character: percent-encode it.",
                slug="invalid-request-target",
            )
        request.META["QUERY_STRING"] = sendable
    if header := unsendable_header(request):
        return problem(400, f"The {header} header holds non-ASCII bytes.", slug="invalid-header")
    if header := hop_by_hop_credential(request):
        return problem(
            400,
            f"The Connection header names {header}, which the gateway authenticates the "
            "request by: it cannot be dropped as hop-by-hop.",
            slug="hop-by-hop-credential",
        )
    return None


class ProxyFastPathMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = get_resolver().resolve(request.path_info)
        except Resolver404:
            full_handling(request)
            return self.get_response(request)
        route = getattr(match.func, "view_initkwargs", {}).get("route")
        if route is None:
            full_handling(request)  # not forwarded: Django's whole handling (dispatch.py)
            return self.get_response(request)
        started = time.perf_counter()
        # What CommonMiddleware would check: the Host header names this gateway.
        request.get_host()
        request.resolver_match = match
        response = unforwardable(request) or match.func(request, *match.args, **match.kwargs)
        set_content_length(request, response)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        record(request, route, response.status_code, time.perf_counter() - started)
        return response
