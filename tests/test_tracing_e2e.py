"""Traces: one POST /orders is one trace with spans from the gateway, orders and products,
exported over OTLP/HTTP to a collector (a fake one on loopback)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from common.testing import wait_until
from devtools.harness import json_call, mint_access_token, start_stack

pytestmark = pytest.mark.e2e


class FakeCollector:
    """Accepts OTLP/HTTP protobuf exports at /v1/traces and keeps the spans."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        self.spans: list[dict] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.add(request, self.path)
                answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request, path: str) -> None:
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        {
                            "path": path,
                            "service": attributes.get("service.name"),
                            "name": span.name,
                            "kind": span.kind,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_id": span.parent_span_id.hex(),
                        }
                    )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    collector = FakeCollector()
    stack = start_stack(
        tmp_path_factory.mktemp("traced"),
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # the SDK's batch delay (ms): export soon
            "E2E_WEB_CONCURRENCY": "1",
        },
    )
    yield stack, collector
    stack.stop()
    collector.stop()


def test_one_order_is_one_trace_across_the_gateway_orders_and_products(traced):
    stack, collector = traced
    gateway = stack["gateway"].url
    staff = mint_access_token(stack, user_id=1, is_staff=True)
    status, _, product = json_call(
        "POST",
        f"{gateway}/products",
        {"sku": "TR-1", "name": "Traced", "price": "2.00", "stock": 5},
        token=staff,
    )
    assert status == 201, product
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    caller_span = "00f067aa0ba902b7"

    status, _, order = json_call(
        "POST",
        f"{gateway}/orders",
        {"items": [{"product_id": product["id"], "quantity": 1}]},
        token=mint_access_token(stack, user_id=2),
        headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
    )

    assert status == 201, order

    def spans_of_every_server() -> list[dict]:
        spans = [s for s in collector.spans if s["trace_id"] == trace_id]
        servers = {s["service"] for s in spans if s["kind"] == 2}
        return spans if {"gateway", "orders", "products"} <= servers else []

    # Each process exports in its own batches: wait for every server span (kind 2).
    spans = wait_until(spans_of_every_server, timeout=20, every=0.2)
    assert {s["service"] for s in spans} == {"gateway", "orders", "products"}
    assert {s["path"] for s in spans} == {"/v1/traces"}
    by_id = {s["span_id"]: s for s in spans}

    def server_span(service: str, name: str) -> dict:
        # One per request served; the trace also holds the product service's cache purge
        # at the gateway (POST /internal/cache/purge), a server span of the gateway too.
        return next(s for s in spans if (s["service"], s["kind"], s["name"]) == (service, 2, name))

    gateway_server = server_span("gateway", "POST /orders")
    orders_server = server_span("orders", "POST /orders")
    products_server = server_span("products", "POST /internal/reservations")
    # The caller's span is the gateway's parent; each service's span hangs under a span of
    # its caller (the gateway's server or upstream span; the order service's client span).
    assert gateway_server["parent_id"] == caller_span
    assert gateway_server["name"] == "POST /orders"
    upstream_call = by_id[orders_server["parent_id"]]
    assert (upstream_call["service"], upstream_call["kind"]) == ("gateway", 3)  # CLIENT
    assert upstream_call["name"] == "POST orders"
    assert upstream_call["parent_id"] == gateway_server["span_id"]
    reserve_call = by_id[products_server["parent_id"]]
    assert (reserve_call["service"], reserve_call["kind"]) == ("orders", 3)  # CLIENT
    assert products_server["name"] == "POST /internal/reservations"
