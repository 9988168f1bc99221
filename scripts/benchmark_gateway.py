"""Benchmark GET /products/{id} directly at the product service and through the gateway.

    .venv/bin/python scripts/benchmark_gateway.py [--duration 10] [--connections 32]

Starts the product service and the gateway as they run in production (devtools.harness:
the entrypoint with production settings, 2 worker processes each, both under gunicorn
unless WEB_SERVER is passed with --env,
Redis-backed throttling), creates one product, then
runs wrk signed in (so JWT verification and throttling are on the gateway's path) at
`--connections` and at one connection, and prints throughput, p50/p99 latency and the
gateway/direct ratios. Redis: REDIS_URL if set, else a private redis-server on a free
port. Products run on SQLite unless PRODUCTS_DATABASE_URL points at PostgreSQL (a fresh
database is made).
Needs wrk (`apt-get install -y wrk`). The measurements of every section at once, with
floors and cost curves: scripts/bench.py (`manage_all.py bench`); this script keeps the
focused comparisons (--scaled, --cached, --traced, --isolated).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.harness import (
    REPO_ROOT,
    ServiceProcess,
    Stack,
    another_instance,
    free_port,
    http,
    mint_access_token,
    start_gateway,
    start_stack,
    wait_until_ok,
)
from scripts.benchlib import (
    WRK_MISSING,
    median_of,
    run_wrk,
    start_redis,
    worker_pids,
    wrk_installed,
)


def measure_isolated(root: Path, env: dict, args: argparse.Namespace) -> dict:
    """One connection to a static upstream, directly and through a gateway in front of it."""
    port = free_port()
    upstream = subprocess.Popen(  # noqa: S603 -- our own arguments
        [
            *(sys.executable, "-m", "granian", "--interface", "wsgi", "--http", "1", "--no-ws"),
            *("--port", str(port), "--workers", "1", "scripts.static_upstream:app"),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    stack = None
    try:
        if problem := wait_until_ok(url + "/", upstream, timeout=30):
            raise RuntimeError(f"the static upstream {problem}")
        isolated_env = {**env, "PRODUCTS_SERVICE_URL": url}
        stack = start_stack(root / "isolated", ["gateway"], env=isolated_env)
        token = mint_access_token(stack, user_id=2)  # this stack's own signing key
        targets = {
            "static": (f"{url}/products/1", None),
            "gw-static": (stack["gateway"].url + "/products/1", stack["gateway"]),
        }
        for target, _ in targets.values():
            run_wrk(target, token, connections=1, duration=args.warmup)
        runs: dict[str, list[dict]] = {}
        for _ in range(args.rounds):
            for name, (target, measured) in targets.items():
                pids = worker_pids(measured.process.pid) if measured else []
                runs.setdefault(f"{name}@1", []).append(
                    run_wrk(target, token, connections=1, duration=args.duration, pids=pids)
                )
        return {key: median_of(figures) for key, figures in runs.items()}
    finally:
        if stack is not None:
            stack.stop()
        upstream.terminate()
        upstream.wait(timeout=10)


def _alternate(
    targets: dict[str, tuple[str, ServiceProcess]],
    token: str,
    args: argparse.Namespace,
    connections: int,
) -> dict:
    """Each target's median over rounds, the targets taking turns within every round."""
    for url, _ in targets.values():
        run_wrk(url, token, connections=connections, duration=args.warmup)
    runs: dict[str, list[dict]] = {}
    for _ in range(args.rounds):
        for name, (url, measured) in targets.items():
            runs.setdefault(f"{name}@{connections}", []).append(
                run_wrk(
                    url,
                    token,
                    connections=connections,
                    duration=args.duration,
                    pids=worker_pids(measured.process.pid),
                )
            )
    return {key: median_of(figures) for key, figures in runs.items()}


def measure_scaled(stack: Stack, path: str, token: str, args: argparse.Namespace) -> dict:
    """Through the gateway with one product instance, and with two (a second gateway in
    front of both, so each gateway keeps its own warm connections)."""
    first = stack["products"]
    # Not registered: the first gateway keeps its one instance.
    second = another_instance(stack, "products", "products-2", SERVICE_REGISTRATION="off")
    both = start_gateway(stack, "gateway-2x", PRODUCTS_SERVICE_URL=f"{first.url},{second.url}")
    targets = {
        "gw-1-instance": (stack["gateway"].url + path, stack["gateway"]),
        "gw-2-instances": (both.url + path, both),
    }
    return _alternate(targets, token, args, args.connections)


def measure_cached(stack: Stack, path: str, token: str, args: argparse.Namespace) -> dict:
    """A cache HIT against the uncached path, at one connection (latency)."""
    cached = start_gateway(stack, "gateway-cached", GATEWAY_CACHE_SECONDS="30")
    targets = {
        "gw-uncached": (stack["gateway"].url + path, stack["gateway"]),
        "gw-cache-hit": (cached.url + path, cached),
    }
    return _alternate(targets, token, args, 1)


def _otlp_sink() -> tuple[str, object]:
    """An OTLP/HTTP receiver on loopback that accepts and drops every export."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def measure_traced(stack: Stack, path: str, token: str, args: argparse.Namespace) -> dict:
    """The gateway's CPU per request with tracing off and on (spans exported over OTLP/HTTP
    to a receiver on loopback that drops them), at the usual connection count."""
    endpoint, sink = _otlp_sink()
    try:
        traced = start_gateway(stack, "gateway-traced", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
        targets = {
            "gw-untraced": (stack["gateway"].url + path, stack["gateway"]),
            "gw-traced": (traced.url + path, traced),
        }
        return _alternate(targets, token, args, args.connections)
    finally:
        sink.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target")
    parser.add_argument(
        "--rounds", type=int, default=3, help="direct and gateway alternate; medians are shown"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra stack setting"
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="also measure a gateway in front of a static upstream (its own cost alone)",
    )
    parser.add_argument(
        "--scaled",
        action="store_true",
        help="also measure the gateway with one and with two product instances",
    )
    parser.add_argument(
        "--cached",
        action="store_true",
        help="also measure a response-cache HIT against the uncached path",
    )
    parser.add_argument(
        "--traced",
        action="store_true",
        help="also measure the gateway's CPU per request with OpenTelemetry tracing on",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if not wrk_installed():
        print(WRK_MISSING, file=sys.stderr)
        return 2
    redis_url, redis_process = start_redis()
    root = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    env = {
        "REDIS_URL": redis_url,
        "GATEWAY_RATE_USER": "100000000/min",
        "GATEWAY_RATE_ANON": "100000000/min",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # The comparison is of the forwarding path: the response cache is measured apart.
        "GATEWAY_CACHE_SECONDS": "0",
        **dict(item.split("=", 1) for item in args.env),
    }
    stack = start_stack(root, ["products", "gateway"], env=env)
    try:
        staff = mint_access_token(stack, user_id=1, is_staff=True)
        user = mint_access_token(stack, user_id=2)
        product = {"sku": "BENCH-1", "name": "Benchmark mug", "price": "9.90", "stock": 100}
        status, _, body = http(
            "POST",
            f"{stack['products'].url}/products",
            body=json.dumps(product).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {staff}"},
        )
        if status != 201:
            print(f"could not create the product: {status} {body!r}", file=sys.stderr)
            return 1
        path = f"/products/{json.loads(body)['id']}"
        targets = {
            "direct": (stack["products"].url + path, "products"),
            "gateway": (stack["gateway"].url + path, "gateway"),
        }
        for url, _ in targets.values():
            run_wrk(url, user, connections=args.connections, duration=args.warmup)
        # The machine may be shared: direct and gateway alternate, and each figure is the
        # median of its rounds, so a burst of outside load skews both sides alike.
        runs: dict[str, list[dict]] = {}
        for _ in range(args.rounds):
            for connections in (args.connections, 1):
                for name, (url, measured) in targets.items():
                    runs.setdefault(f"{name}@{connections}", []).append(
                        run_wrk(
                            url,
                            user,
                            connections=connections,
                            duration=args.duration,
                            pids=worker_pids(stack[measured].process.pid),
                        )
                    )
        results = {key: median_of(figures) for key, figures in runs.items()}
        if args.scaled:
            results.update(measure_scaled(stack, path, user, args))
        if args.cached:
            results.update(measure_cached(stack, path, user, args))
        if args.traced:
            results.update(measure_traced(stack, path, user, args))
        if args.isolated:
            results.update(measure_isolated(root, env, args))
    finally:
        stack.stop()
        if redis_process:
            redis_process.terminate()
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, load {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'target':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'cpu ms/req':>12}"
    )
    for key, figures in results.items():
        print(
            f"{key:<16}{figures['rps']:>10.0f}{figures['p50_ms']:>10.2f}"
            f"{figures['p99_ms']:>10.2f}{int(figures['non_2xx']):>10}"
            f"{figures['cpu_ms_per_request']:>12.2f}"
        )
    print("(cpu ms/req: the product service's workers for direct, the gateway's own for gateway)")
    many, one = args.connections, 1
    ratio = results[f"gateway@{many}"]["rps"] / results[f"direct@{many}"]["rps"]
    added = results[f"gateway@{one}"]["p50_ms"] - results[f"direct@{one}"]["p50_ms"]
    print(f"throughput gateway/direct at {many} connections: {ratio:.0%} (target >= 50%)")
    print(f"p50 added by the gateway at 1 connection: {added:.2f} ms (target <= 1 ms)")
    if "gw-static@1" in results:
        alone = results["gw-static@1"]["p50_ms"] - results["static@1"]["p50_ms"]
        print(f"p50 added by the gateway alone (static upstream, 1 connection): {alone:.2f} ms")
    if "gw-2-instances@" + str(many) in results:
        scaled = results[f"gw-2-instances@{many}"]["rps"] / results[f"gw-1-instance@{many}"]["rps"]
        print(f"throughput 2 product instances / 1 instance at {many} connections: {scaled:.2f}")
    if "gw-cache-hit@1" in results:
        hit, miss = results["gw-cache-hit@1"]["p50_ms"], results["gw-uncached@1"]["p50_ms"]
        print(f"p50 at 1 connection: cache HIT {hit:.2f} ms, uncached {miss:.2f} ms")
    if "gw-traced@" + str(many) in results:
        on = results[f"gw-traced@{many}"]["cpu_ms_per_request"]
        off = results[f"gw-untraced@{many}"]["cpu_ms_per_request"]
        print(f"gateway CPU per request: tracing on {on:.2f} ms, off {off:.2f} ms")
    if args.json:
        print(json.dumps({"results": results, "ratio": ratio, "added_p50_ms": added}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
