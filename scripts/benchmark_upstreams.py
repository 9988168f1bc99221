"""CPU per request of discovery, balancing, the breaker check and the retry budget.

    .venv/bin/python scripts/benchmark_upstreams.py [--requests 200000]

Runs in one process, with the gateway's settings and two static instances of products:
for each simulated request it does what `proxy_request` adds around the upstream call
(budget count, instance pick, in-flight count, breaker and outlier bookkeeping of a
success), and prints the CPU time per request, in memory and, when REDIS_URL is set, with
the breakers in Redis (a closed breaker costs no round trip: the figure shows it).
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def measure(requests: int) -> float:
    from gateway_project.upstreams.discovery import upstreams

    group = upstreams()
    pool = group.pool("products")
    budget = group.budgets["products"]
    started = time.process_time()
    for _ in range(requests):
        budget.request()
        pick = pool.pick()
        pick.instance.request_started()
        pick.instance.request_finished()
        pool.record(pick, ok=True, seconds=0.001)
    return (time.process_time() - started) / requests * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("APP_ENV", "development")
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-upstreams-"))
    os.environ["PRODUCTS_SERVICE_URL"] = "http://127.0.0.1:9,http://127.0.0.1:10"
    os.environ["GATEWAY_HEALTH_INTERVAL"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "gateway_project.settings"
    import django

    django.setup()
    figures = [measure(args.requests) for _ in range(args.rounds)]
    backend = "Redis" if os.environ.get("REDIS_URL") else "memory"
    print(
        f"discovery + balancing + breaker + budget, breakers in {backend}: "
        f"{statistics.median(figures):.2f} µs CPU per request "
        f"(median of {args.rounds}; {min(figures):.2f} to {max(figures):.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
