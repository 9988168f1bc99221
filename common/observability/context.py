"""Per-request values that logging and outgoing calls read without being handed them."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
traceparent_var: ContextVar[str] = ContextVar("traceparent", default="")
