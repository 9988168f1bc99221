"""The proxy view: DRF runs edge authentication, the route's policy and throttling on it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from common.http.middleware import access_log
from gateway_project.conf import gateway_settings
from gateway_project.proxy.authentication import (
    ApiKeyAuthentication,
    CachedJWTAuthentication,
    RouteAuthPolicy,
)
from gateway_project.proxy.pipeline import proxy_request
from gateway_project.proxy.throttling import ConsumerQuotaThrottle, GatewayRateThrottle
from gateway_project.routing.table import Route
from gateway_project.transport.forwarding import client_ip_for


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is larger than the gateway accepts."
    default_code = "payload_too_large"


class GatewayOwnNegotiation(BaseContentNegotiation):
    """The gateway's own answers are JSON whatever the client accepts; the service's
    answers are not the gateway's to negotiate."""

    renderer = JSONRenderer()

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> None:
        return None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        return self.renderer, self.renderer.media_type


def read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body bytes, never parsed; PayloadTooLarge past `limit`."""
    meta = request.META
    length = meta.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            size = 0
        if size > limit:
            raise PayloadTooLarge()
        return request.body if size else None
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        body = meta["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge()
        return body or None
    return None


class ProxyView(APIView):
    """Forwards one route's requests to its service, after the edge's checks."""

    route: Route = None  # type: ignore[assignment]  # as_view(route=...) sets it
    schema = None  # the services' schemas describe these paths, not the gateway's
    authentication_classes = [CachedJWTAuthentication, ApiKeyAuthentication]
    permission_classes = [RouteAuthPolicy]
    content_negotiation_class = GatewayOwnNegotiation
    parser_classes: list[Any] = []
    renderer_classes = [JSONRenderer]

    @property
    def default_response_headers(self) -> dict[str, str]:
        # DRF would add Allow/Vary of its own to every answer, the service's included.
        return {}

    def get_throttles(self) -> list[BaseThrottle]:
        if self.route.throttle == "none":
            return []
        # A consumer's quota after its rate limit (ConsumerQuotaThrottle passes the others).
        return [GatewayRateThrottle(self.route.throttle), ConsumerQuotaThrottle()]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """DRF's checks, with throttling before permissions: a caller without a valid
        token is counted (per IP) too, so guessing tokens is rate limited. The body is
        read last: an oversized one is 413 only for a caller who may send it."""
        route = self.route
        access_log(request._request).update(route=route.name, upstream_service=route.service)
        self.format_kwarg = None
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(
            request
        )
        try:
            self.perform_authentication(request)
        except AuthenticationFailed:
            self.check_throttles(request)
            raise
        self.check_throttles(request)
        self.check_permissions(request)
        self.body = read_body(request._request, gateway_settings.MAX_BODY_BYTES)

    def throttled(self, request: Request, wait: float | None) -> NoReturn:
        # The request's record counts it as throttled by this scope (observability.record).
        scope = getattr(getattr(request._request, "rate_limit", None), "scope", "-")
        request._request.throttled_by = scope  # type: ignore[attr-defined]
        access_log(request._request)["throttled"] = True
        super().throttled(request, wait)  # type: ignore[arg-type]  # DRF passes None too

    def proxy(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return proxy_request(request._request, self.route, self.body)

    get = head = post = put = patch = delete = options = proxy  # type: ignore[assignment]

    # The answer is Django's HttpResponse (a service's, or JSON), not a DRF Response.
    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponse, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        django_request = request._request
        if response.status_code == 405 and not getattr(response, "problem_passthrough", False):
            response["Allow"] = ", ".join(self.route.allowed_methods)
        if state := getattr(django_request, "rate_limit", None):
            for name, value in state.headers().items():
                response[name] = value
        if self.route.cache and not response.has_header("X-Cache"):
            # The gateway's own answers on a cacheable route (401, 429, 503...) say so too.
            response["X-Cache"] = "BYPASS"
        log = access_log(django_request)
        log.setdefault("throttled", False)
        log["client_ip"] = client_ip_for(django_request)
        return response
