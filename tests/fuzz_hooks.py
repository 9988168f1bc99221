"""Schemathesis hooks for the fuzz suite's command-line run (SCHEMATHESIS_HOOKS).

A careful client makes a new Idempotency-Key for each new request; the generator draws the
same few keys again and again (often "0"), and a key seen before with another body is
rightly 422 (the IETF idempotency draft). Each generated case gets a key of its own.
"""

from __future__ import annotations

import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Every phase calls through here (the coverage phase draws no headers through the
    generation hooks)."""
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
