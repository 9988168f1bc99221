"""OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT names a collector; else nothing.

`configure(service)` (each project's start) installs a tracer provider exporting over
OTLP/HTTP in batches. `TracingMiddleware` opens a server span per request, a child of the
caller's W3C `traceparent`; `span(...)` opens a client span around an outgoing call. While
a span is open, `common.observability.context.traceparent_var` names it, so what the
gateway forwards and what `common.identity.service_client` sends carry it: the next
service's server span is its child, and one request is one trace across the gateway and
every service.

Off (no endpoint), the middleware removes itself and `span` returns one shared no-op
context manager: the cost on the hot path is one boolean check.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from common.observability.context import traceparent_var

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
_NOTHING = contextlib.nullcontext()
_state: dict[str, Any] = {"tracer": None}


def enabled() -> bool:
    return _state["tracer"] is not None


def configure(service: str) -> bool:
    """Install the exporting tracer provider when the endpoint is set; True if on."""
    if _state["tracer"] is not None or not os.environ.get(ENDPOINT_VARIABLE, "").strip():
        return enabled()
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    # The exporter reads the endpoint (and OTEL_EXPORTER_OTLP_* options) itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _state["tracer"] = trace.get_tracer("django-api-gateway")
    return True


def _traceparent_of(otel_span: Any) -> str:
    context = otel_span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


@contextlib.contextmanager
def _open(name: str, kind: Any, parent: Any, attributes: dict[str, Any]) -> Iterator[Any]:
    tracer = _state["tracer"]
    with tracer.start_as_current_span(name, context=parent, kind=kind) as current:
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(key, value)
        token = traceparent_var.set(_traceparent_of(current))
        try:
            yield current
        finally:
            traceparent_var.reset(token)


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A client span around an outgoing call (a no-op when tracing is off).

    with tracing.span("upstream", **{"peer.service": "products"}):
        headers = upstream_request_headers(request)  # inside: the traceparent names it
        answer = exchange(...)
    """
    if _state["tracer"] is None:
        return _NOTHING
    from opentelemetry.trace import SpanKind

    return _open(name, SpanKind.CLIENT, None, attributes)


def with_traceparent(headers: dict[str, str]) -> dict[str, str]:
    """`headers` built before a span opened, naming that span as the next one's parent
    (the same dict when tracing is off): for a retry loop that builds its headers once.

    with tracing.span(f"{method} {service}", **{"peer.service": service}):
        answer = exchange(url, method, target, tracing.with_traceparent(headers), ...)
    """
    if _state["tracer"] is None:
        return headers
    return {**headers, "traceparent": traceparent_var.get()}


class TracingMiddleware:
    """One server span per request, continuing the caller's trace. Right after
    RequestIdMiddleware; on the gateway, before the proxy's fast path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not enabled():
            raise MiddlewareNotUsed()
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier = {"traceparent": request.headers.get("traceparent", "")}
        parent = (
            TraceContextTextMapPropagator().extract(carrier) if carrier["traceparent"] else None
        )
        attributes = {"http.request.method": request.method, "url.path": request.path}
        with _open(str(request.method), SpanKind.SERVER, parent, attributes) as current:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            # A router's patterns are regexes (`^orders$`): the route without its anchors.
            route = (getattr(match, "route", None) or "").removeprefix("^").removesuffix("$")
            if route:
                current.update_name(f"{request.method} /{route}")
                current.set_attribute("http.route", f"/{route}")
            current.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                current.set_status(Status(StatusCode.ERROR))
        return response
