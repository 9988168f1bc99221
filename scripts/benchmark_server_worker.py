"""What reading requests in the poller costs the gateway: its worker against stock gthread.

    .venv/bin/python scripts/benchmark_server_worker.py [--rounds 5] [--duration 5]

One product service and two gateways in front of it, alike but for gunicorn's worker class:
common.runtime.gunicorn_worker.BufferingThreadWorker (what every project runs) and gunicorn's own
gthread (GUNICORN_CMD_ARGS=--worker-class gthread). Production settings, 2 workers x 4
threads, the response cache off (every request is forwarded), Redis when one answers on
127.0.0.1:6379 (else each gateway runs one worker). wrk with 32 connections on an
anonymous GET /products/{id}, the two gateways alternating round by round; printed per
worker: req/s, p50, gateway CPU ms per request (/proc ticks of its process group), as
medians with min-max, and the ratios buffering/gthread. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.harness import new_product, start_gateway, start_stack
from scripts.benchlib import answers, process_tree, spread, wrk, wrk_installed

WORKERS = {
    "buffering": {},
    "gthread": {"GUNICORN_CMD_ARGS": "--worker-class gthread"},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not wrk_installed():
        print("needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    env = {
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
        "GATEWAY_CACHE_SECONDS": "0",
        "GATEWAY_RATE_ANON": "100000000/min",
        "LOG_LEVEL": "WARNING",
    }
    if answers("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    root = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    stack = start_stack(root, ["products"], env=env)
    try:
        product = new_product(stack, stock=10)
        gateways = {
            name: start_gateway(stack, f"gateway-{name}", **{**env, **extra})
            for name, extra in WORKERS.items()
        }
        runs: dict[str, list[dict]] = {name: [] for name in WORKERS}
        for gateway in gateways.values():  # warm-up
            wrk(f"{gateway.url}/products/{product['id']}", connections=4, duration=1)
        for round_number in range(args.rounds):
            order = list(gateways) if round_number % 2 == 0 else list(reversed(gateways))
            for name in order:
                gateway = gateways[name]
                figures = wrk(
                    f"{gateway.url}/products/{product['id']}",
                    connections=args.connections,
                    duration=args.duration,
                    groups={"gateway": lambda g=gateway: process_tree(g.process.pid)},
                )
                if figures["non_2xx"] or figures["errors"]:
                    raise RuntimeError(f"{name}: failed requests: {figures}")
                runs[name].append(figures)
                print(
                    f"round {round_number + 1} {name:9} {figures['rps']:8.0f} req/s "
                    f"p50 {figures['p50_ms']:6.2f} ms  "
                    f"gateway CPU {figures['cpu_ms_per_request']['gateway']:.3f} ms/req",
                    flush=True,
                )
    finally:
        stack.stop()
    report = {}
    for name, figures in runs.items():
        report[name] = {
            key: spread([select(f) for f in figures])
            for key, select in {
                "rps": lambda f: f["rps"],
                "p50_ms": lambda f: f["p50_ms"],
                "cpu_ms_per_request": lambda f: f["cpu_ms_per_request"]["gateway"],
            }.items()
        }
    pairs = list(zip(runs["buffering"], runs["gthread"], strict=True))
    report["ratio buffering/gthread"] = {
        "rps": spread([b["rps"] / g["rps"] for b, g in pairs]),
        "cpu_ms_per_request": spread(
            [
                b["cpu_ms_per_request"]["gateway"] / g["cpu_ms_per_request"]["gateway"]
                for b, g in pairs
            ]
        ),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
