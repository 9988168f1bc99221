"""An upstream that costs (almost) nothing: every request gets the same product.

The benchmark's `--isolated` run puts a gateway in front of it (served by granian), so
the gateway's own cost shows apart from the product service's, whose latency varies by
more than the gateway adds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

BODY = json.dumps(
    {
        "id": 1,
        "sku": "BENCH-1",
        "name": "Benchmark mug",
        "description": "",
        "price": "9.90",
        "stock": 100,
        "is_active": True,
    }
).encode()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
