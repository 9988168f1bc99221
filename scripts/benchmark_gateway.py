"""Benchmark GET /products/{id} directly at the product service and through the gateway.

    .venv/bin/python scripts/benchmark_gateway.py [--duration 10] [--connections 32]

Starts the product service and the gateway as they run in production (tests.harness:
the entrypoint with production settings, 2 worker processes each, both under gunicorn
unless WEB_SERVER is passed with --env,
Redis-backed throttling), creates one product, then
runs wrk signed in (so JWT verification and throttling are on the gateway's path) at
`--connections` and at one connection, and prints throughput, p50/p99 latency and the
gateway/direct ratios. Redis: REDIS_URL if set, else a private redis-server on a free
port. Products run on SQLite unless PRODUCTS_DATABASE_URL points at PostgreSQL (a fresh
database is made).
Needs wrk (`apt-get install -y wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import (
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

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def _worker_pids(master: int) -> list[int]:
    try:
        return [
            int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()
        ]
    except OSError:
        return []


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (Linux /proc; 0 elsewhere)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(
    url: str, token: str, *, connections: int, duration: int, pids: list[int] | None = None
) -> dict:
    threads = min(2, connections)
    cpu_before = _cpu_seconds(pids or [])
    output = subprocess.run(  # noqa: S603 -- our own arguments
        [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = _cpu_seconds(pids or []) - cpu_before
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": rps,
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
        "cpu_ms_per_request": cpu * 1000 / requests if requests else 0.0,
    }


def _median(runs: list[dict]) -> dict:
    return {
        key: statistics.median(run[key] for run in runs)
        if isinstance(runs[0][key], (int, float))
        else runs[0][key]
        for key in runs[0]
    }


def start_redis() -> tuple[str, subprocess.Popen | None]:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 -- our own arguments
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return f"redis://127.0.0.1:{port}/0", process


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
                pids = _worker_pids(measured.process.pid) if measured else []
                runs.setdefault(f"{name}@1", []).append(
                    run_wrk(target, token, connections=1, duration=args.duration, pids=pids)
                )
        return {key: _median(figures) for key, figures in runs.items()}
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
                    pids=_worker_pids(measured.process.pid),
                )
            )
    return {key: _median(figures) for key, figures in runs.items()}


def measure_scaled(stack: Stack, path: str, token: str, args: argparse.Namespace) -> dict:
    """Through the gateway with one product instance, and with two (a second gateway in
    front of both, so each gateway keeps its own warm connections)."""
    first = stack["products"]
    second = another_instance(stack, "products", "products-2")
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
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if not Path(WRK).exists():
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
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
                            pids=_worker_pids(stack[measured].process.pid),
                        )
                    )
        results = {key: _median(figures) for key, figures in runs.items()}
        if args.scaled:
            results.update(measure_scaled(stack, path, user, args))
        if args.cached:
            results.update(measure_cached(stack, path, user, args))
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
    if args.json:
        print(json.dumps({"results": results, "ratio": ratio, "added_p50_ms": added}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
