"""The gateway's operator endpoints (/ready, /metrics, /api/schema, /api/docs) are served in
production only to an operator: a caller presenting GATEWAY_OPS_TOKEN as a bearer token, or
a client in GATEWAY_OPS_NETWORKS.

The gateway is the one project on the public port, and these pages tell a stranger what an
operator alone needs: which database or cache is failing and why (/ready), every route's
traffic (/metrics), the internal endpoints (/api/schema). /ready also costs a database and
a cache round trip each time, and none of them is throttled. Anyone else gets the same 404
problem as an unknown path, before any of that work, so a scan cannot tell them apart.

The client is the address the trusted proxies name (client_ip_for, as the rate limits
read it). A request that carries X-Forwarded-For from a peer that is no trusted proxy came
through a proxy the gateway was not told about (a sidecar on the loopback): its peer
address says nothing about the client, so only the token opens the endpoints to it.
Development (`manage_all.py up`) serves them to everyone. Kong keeps its status API off the
proxy port in the same spirit.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver

from common.http.problems import page_not_found
from common.limits.client_address import address_in, trusted_networks
from gateway_project.conf import gateway_settings
from gateway_project.transport.forwarding import client_ip_for, is_trusted_proxy

# The names common.urls.ops_urlpatterns gives them; /health/live stays public (liveness).
OPERATOR_URL_NAMES = frozenset({"ready", "metrics", "schema", "swagger-ui"})


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _has_ops_token(request: HttpRequest) -> bool:
    expected = gateway_settings.OPS_TOKEN
    sent = _bearer_token(request)
    return bool(expected) and bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


def _from_ops_network(request: HttpRequest) -> bool:
    meta = request.META
    forwarded = meta.get("HTTP_X_FORWARDED_FOR") or meta.get("HTTP_FORWARDED")
    if forwarded and not is_trusted_proxy(meta.get("REMOTE_ADDR", "")):
        return False
    return address_in(client_ip_for(request), trusted_networks(gateway_settings.OPS_NETWORKS))


def is_operator(request: HttpRequest) -> bool:
    """Whether REQUEST may read the operator endpoints."""
    if settings.APP_ENV == "development":
        return True
    return _has_ops_token(request) or _from_ops_network(request)


def operator_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """VIEW for operators; anyone else gets the 404 problem of an unknown path."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not is_operator(request):
            return page_not_found(request)
        if _has_ops_token(request):
            # Spent here: the schema's views would take it for an access token (401).
            request.META.pop("HTTP_AUTHORIZATION", None)
            request.__dict__.pop("headers", None)
        return view(request, *args, **kwargs)

    return guarded


def operator_only_patterns(
    patterns: Sequence[URLPattern | URLResolver],
) -> list[URLPattern | URLResolver]:
    """PATTERNS with the operator endpoints among them guarded by operator_only."""
    return [
        URLPattern(p.pattern, operator_only(p.callback), p.default_args, p.name)
        if isinstance(p, URLPattern) and p.name in OPERATOR_URL_NAMES
        else p
        for p in patterns
    ]
