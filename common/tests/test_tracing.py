"""common.observability.tracing: off costs a check; on, spans nest and the traceparent
names them."""

from __future__ import annotations

import pytest
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpResponse
from django.test import RequestFactory
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from common.observability import tracing
from common.observability.context import traceparent_var


@pytest.fixture
def exported(monkeypatch):
    """Tracing on, into memory (the real setup exports over OTLP/HTTP: tests/ e2e)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setitem(tracing._state, "tracer", provider.get_tracer("test"))
    return exporter


def test_without_an_endpoint_nothing_is_set_up(monkeypatch):
    monkeypatch.delenv(tracing.ENDPOINT_VARIABLE, raising=False)

    assert tracing.configure("gateway") is False
    assert tracing.span("upstream") is tracing.span("other")  # one shared no-op
    with pytest.raises(MiddlewareNotUsed):
        tracing.TracingMiddleware(lambda request: HttpResponse())


def test_a_request_continues_the_callers_trace_and_calls_name_their_span(exported):
    seen = {}

    def view(request):
        seen["server"] = traceparent_var.get()
        with tracing.span("GET products", **{"peer.service": "products"}):
            seen["client"] = traceparent_var.get()
        return HttpResponse(status=503)

    middleware = tracing.TracingMiddleware(view)
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    response = middleware(RequestFactory().get("/orders", headers={"traceparent": caller}))

    assert response.status_code == 503
    client, server = exported.get_finished_spans()
    assert f"{server.context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert f"{server.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert client.parent.span_id == server.context.span_id
    assert seen["server"].split("-")[2] == f"{server.context.span_id:016x}"
    assert seen["client"].split("-")[2] == f"{client.context.span_id:016x}"
    assert client.attributes["peer.service"] == "products"
    assert server.attributes["http.response.status_code"] == 503
    assert not server.status.is_ok


def test_headers_built_before_a_span_name_it_inside(exported):
    headers = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}

    with tracing.span("POST products"):
        inside = tracing.with_traceparent(headers)

    (client,) = exported.get_finished_spans()
    assert inside["traceparent"].split("-")[2] == f"{client.context.span_id:016x}"
    assert headers["traceparent"].endswith("-00f067aa0ba902b7-01")  # not changed in place


def test_headers_are_left_alone_when_tracing_is_off():
    headers = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}

    assert tracing.with_traceparent(headers) is headers
