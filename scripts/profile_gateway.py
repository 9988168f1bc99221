"""Where the gateway's CPU goes on a forwarded request: its WSGI app called in a loop.

    .venv/bin/python scripts/profile_gateway.py [--requests N] [--token] [--cache] [--out DIR]

One process: the gateway's settings (APP_ENV=development, a throwaway VAR_DIR, limits
raised, the response cache off unless --cache), Redis at REDIS_URL (default
redis://127.0.0.1:6379/11, keys under a fresh prefix), the product routes pointed at
scripts/static_upstream.py under granian (started here). `GET /products/1` is built as
a WSGI environ (anonymous, or signed in with --token) and run through the app N times
after a warm-up: the gateway's WSGI application (the proxy routes' dispatcher) and
Django's handler behind it, in alternating rounds of N; then the application N times
under cProfile timed by CPU (deterministic: it inflates
code of many small calls, Django's handler among them, so read the shares as an upper
bound for such code). Prints the CPU per request without the profiler and with, and the
profile's shares by part of the pipeline. Benchmark code: never deployed.
"""

from __future__ import annotations

import argparse
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.harness import REPO_ROOT, free_port, wait_until_ok

# Parts of a request, by the file its innermost frame is in (first match wins).
PARTS = (
    ("Redis (scripts, connection, hiredis)", ("redis/", "redis_scripts.py", "shared_redis.py")),
    ("upstream exchange (pycurl)", ("transport/client.py",)),
    ("response cache (not Redis)", ("response_cache/",)),
    ("JWT and revocation", ("jwt", "revocation.py", "authentication.py", "auth.py")),
    ("throttle (not Redis)", ("throttling.py", "counters.py", "client_address.py")),
    ("access log", ("logging.py", "logging/")),
    ("the request's record", ("prometheus_client/", "observability/")),
    ("discovery, pool, breakers", ("upstreams/",)),
    ("forwarding headers", ("transport/forwarding.py",)),
    ("DRF", ("rest_framework/",)),
    ("URL resolution", ("django/urls/",)),
    ("request object, META", ("django/http/request.py", "django/core/handlers/wsgi.py")),
    ("response object", ("django/http/response.py",)),
    ("Django handler, signals, middleware plumbing", ("django/",)),
    ("gateway middleware, pipeline, view", ("gateway_project/", "common/")),
)


def environ_for(path: str, token: str) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "wrk",
        "HTTP_ACCEPT": "*/*",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.multithread": True,
    }
    setup_testing_defaults(environ)  # the rest of a server's environ (wsgi.*, SERVER_*)
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return environ


def start_static_upstream(port: int) -> subprocess.Popen:
    """scripts/static_upstream.py under granian on `port`, answering."""
    static = subprocess.Popen(  # noqa: S603 -- our own command
        [
            *(sys.executable, "-m", "granian", "--interface", "wsgi", "--http", "1"),
            *("--no-ws", "--port", str(port), "--workers", "1"),
            "scripts.static_upstream:app",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if problem := wait_until_ok(f"http://127.0.0.1:{port}/", static, timeout=30):
        static.terminate()
        raise SystemExit(f"static upstream: {problem}")
    return static


def part_of(filename: str) -> str:
    for name, needles in PARTS:
        if any(needle in filename for needle in needles):
            return name
    return OTHER


OTHER = "other (stdlib, interpreter)"


def shares_cprofile(stats: pstats.Stats) -> dict[str, float]:
    """Each function's own time, summed by part; the time of a C function or of the
    standard library goes to its callers' parts (in proportion to their calls' time),
    up to five frames up, so `perform` counts for the exchange and `recv` for Redis."""
    table = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = {}

    def charge(function, seconds: float, depth: int) -> None:
        part = part_of(function[0])
        callers = table.get(function, (0, 0, 0, 0, {}))[4]
        if part != OTHER or depth >= 5 or not callers:
            totals[part] = totals.get(part, 0.0) + seconds
            return
        spent = sum(figures[3] for figures in callers.values()) or 1.0
        for caller, figures in callers.items():
            charge(caller, seconds * figures[3] / spent, depth + 1)

    for function, (_, _, own, _, _) in table.items():
        charge(function, own, 0)
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--token", action="store_true", help="signed in (a JWT per request)")
    parser.add_argument("--cache", action="store_true", help="response cache on (HITs)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (A/B)")
    parser.add_argument("--out", default="", help="write the raw profile here")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="profile-gateway-"))
    port = free_port()
    static = start_static_upstream(port)
    try:
        os.environ.update(
            APP_ENV="development",
            VAR_DIR=str(root),
            DJANGO_SETTINGS_MODULE="gateway_project.settings",
            SERVICE_NAME="gateway",
            PRODUCTS_SERVICE_URL=f"http://127.0.0.1:{port}",
            REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"),
            CACHE_KEY_PREFIX=f"profile{secrets.token_hex(4)}",
            GATEWAY_RATE_USER="100000000/min",
            GATEWAY_RATE_ANON="100000000/min",
            GATEWAY_CACHE_SECONDS="300" if args.cache else "0",
            PROMETHEUS_MULTIPROC_DIR=str(root / "metrics"),
            LOG_LEVEL="INFO",
        )
        (root / "metrics").mkdir()
        import django

        django.setup()

        token = ""
        if args.token:
            from common.testing import access_token

            token = access_token(user_id=2)
        from gateway_project.wsgi import application

        apps = {"dispatcher": application, "handler": application.handler}
        log = open(root / "access.jsonl", "w")  # noqa: SIM115 -- the log lines go here
        sys.stdout.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)

        def one(app) -> int:
            status = []
            body = app(environ_for("/products/1", token), lambda s, h, *e: status.append(s))
            for _ in body:
                pass
            if hasattr(body, "close"):  # as a WSGI server does
                body.close()
            return int(status[0][:3])

        def loop(count: int, app=application) -> float:
            started = time.process_time()
            for _ in range(count):
                if (code := one(app)) != 200:
                    raise SystemExit(f"the gateway answered {code}")
            return (time.process_time() - started) * 1000 / count

        try:
            loop(300)
            rounds: dict[str, list[float]] = {name: [] for name in apps}
            for _ in range(args.rounds):
                for name, app in apps.items():
                    rounds[name].append(loop(args.requests, app))
            bare = statistics.median(rounds["dispatcher"])
            import cProfile

            # CPU time, not wall: waiting for the upstream or Redis costs no CPU.
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            profiled = loop(args.requests)
            profile.disable()
            stats = pstats.Stats(profile)
            totals = shares_cprofile(stats)
            if args.out:
                stats.dump_stats(Path(args.out) / "gateway.pstats")
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
        whole = sum(totals.values()) or 1.0
        ratios = [d / h for d, h in zip(rounds["dispatcher"], rounds["handler"], strict=True)]
        for name, figures in rounds.items():
            print(
                f"{name}: CPU ms/request, median of {args.rounds} alternating rounds "
                f"{statistics.median(figures):.3f} ({min(figures):.3f}-{max(figures):.3f})"
            )
        print(
            f"dispatcher / handler, round by round: {statistics.median(ratios):.3f} "
            f"({min(ratios):.3f}-{max(ratios):.3f})"
        )
        print(
            f"{args.requests} requests ({'signed in' if token else 'anonymous'}, response cache "
            f"{'on' if args.cache else 'off'}): CPU {bare:.3f} ms/request (dispatcher) without "
            f"a profiler, {profiled:.3f} ms under cProfile"
        )
        for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
            print(f"  {100 * seconds / whole:5.1f} %  {name}")
    finally:
        static.terminate()
        static.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
