"""What each framework bypass saves per request, in instructions (callgrind) and CPU.

    .venv/bin/python scripts/bypass_costs.py [--requests N] [--rounds R] [--cpu-only]

The bypasses (docs/performance.md, "Framework bypasses"), each with a switch to the
library's public path:

- `redis`: common.limits.redis_scripts.ThreadScript (EVALSHA on the thread's own
  connection) or redis-py's `Script` (`client.evalsha` through the client);
- `dispatch`: gateway_project.proxy.dispatch.ProxyDispatcher (the middleware chain
  called directly) or Django's WSGIHandler (`__call__`, `get_response`, the signals);
- `logging`: common.observability.logging.log_fields (the JSON line written to the
  handler's stream) or `logger.log(level, message, extra=fields)`;
- `api_path`: common.http.api_path.ApiPathMiddleware (a handler of its own for API
  views) or Django's full middleware list (the middleware removed).

Two processes, each Django in one process as gunicorn's worker calls it: the gateway's
WSGI application answering anonymous `GET /products/{id}` (the dispatcher path; the
product routes pointed at scripts/static_upstream.py under granian, started here;
Redis at REDIS_URL, default redis://127.0.0.1:6379/11, keys under a fresh prefix), and
the product service's WSGI application answering `GET /products/1` (SQLite in a
throwaway VAR_DIR), where the API path acts (a forwarded request never reaches it).
Each process warms every variant up, then runs N requests per variant; each run sits
between two calls only this script makes (`os.getloadavg`, `os.ctermid`), where
callgrind zeroes and dumps its counts, so start-up and warm-up are not counted (nor
the gateway's clock-driven background threads: the requests' thread only). Then two
more processes run natively, alternating rounds of N per variant timed by
`time.process_time`, as the cross-check (wall-clock on a shared machine varies by a
third). Benchmark code: never deployed.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.harness import REPO_ROOT, free_port
from scripts.profile_gateway import environ_for, start_static_upstream

# Each process's variants: the name and the bypasses switched to the library's path.
VARIANTS = {
    "gateway": {
        "all bypasses": (),
        "redis-py Script": ("redis",),
        "Django get_response": ("dispatch",),
        "logger.log": ("logging",),
        "no ApiPathMiddleware": ("api_path",),
        "no bypass": ("redis", "dispatch", "logging"),
    },
    "products": {
        "all bypasses": (),
        "no ApiPathMiddleware": ("api_path",),
        "logger.log": ("logging",),
        "redis-py Script": ("redis",),
    },
}
SETTINGS = {"gateway": "gateway_project.settings", "products": "product_service.settings"}
MARK_START = os.getloadavg  # callgrind --zero-before=getloadavg
MARK_END = os.ctermid  # callgrind --dump-before=ctermid


class Switches:
    """The bypasses switched off for the coming requests (each checked per call)."""

    plain: tuple[str, ...] = ()


def install_switches() -> None:
    """Wrap the redis and logging bypasses so a flag picks the library's path."""
    from redis.commands.core import Script

    import common.http.middleware as middleware
    import common.limits.redis_scripts as redis_scripts

    thread_script, log_fields = redis_scripts.ThreadScript, middleware.log_fields

    class SwitchedScript:
        def __init__(self, client, source: str) -> None:
            self.fast = thread_script(client, source)
            self.plain = Script(client, source)

        def __call__(self, *, keys, args):
            if "redis" in Switches.plain:
                return self.plain(keys=keys, args=args)
            return self.fast(keys=keys, args=args)

    def switched_log_fields(logger, level, message, fields) -> None:
        if "logging" in Switches.plain:
            logger.log(level, message, extra=fields)
        else:
            log_fields(logger, level, message, fields)

    redis_scripts.ThreadScript = SwitchedScript
    middleware.log_fields = switched_log_fields


def build_apps(service: str) -> dict[str, object]:
    """The WSGI application per variant (api_path: a handler without ApiPathMiddleware)."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    if service == "gateway":
        from gateway_project.wsgi import application

        dispatcher, handler = application, application.handler
    else:
        from product_service.wsgi import application

        dispatcher = handler = application
    full = list(settings.MIDDLEWARE)
    settings.MIDDLEWARE = [m for m in full if m != "common.http.api_path.ApiPathMiddleware"]
    without_api_path = WSGIHandler()
    settings.MIDDLEWARE = full
    if dispatcher is not handler:  # the gateway: its dispatcher around that handler
        without_api_path = type(dispatcher)(without_api_path)
    apps = {}
    for name, plain in VARIANTS[service].items():
        if "api_path" in plain:
            apps[name] = without_api_path
        elif "dispatch" in plain:
            apps[name] = handler
        else:
            apps[name] = dispatcher
    return apps


def prepare() -> None:
    """The product service's database and its one product (run natively, not counted)."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from product_service.catalog.models import Product

    Product.objects.get_or_create(
        sku="BENCH-1", defaults={"name": "Benchmark mug", "price": "9.90", "stock": 100}
    )


def child(service: str, requests: int, rounds: int, callgrind: bool) -> None:
    """Run inside one process (under callgrind or not); write its figures as JSON."""
    import django

    django.setup()
    install_switches()
    if service == "products":
        from product_service.catalog.models import Product

        path = f"/products/{Product.objects.get(sku='BENCH-1').pk}"
    apps = build_apps(service)

    def one(app, index: int) -> None:
        url = path if service == "products" else f"/products/{1 + index % 50}"
        status = []
        body = app(environ_for(url, ""), lambda s, h, *e: status.append(s))
        for _ in body:
            pass
        if hasattr(body, "close"):  # as a WSGI server does
            body.close()
        if not status[0].startswith("200"):
            raise SystemExit(f"{service} answered {status[0]}")

    def run(name: str, count: int) -> float:
        Switches.plain = VARIANTS[service][name]
        app = apps[name]
        started = time.process_time()
        for index in range(count):
            one(app, index)
        return (time.process_time() - started) * 1000 / count

    for name in apps:  # warm-up: every path's first calls, connections, caches
        run(name, 100)
    result: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name in apps:
            if callgrind:
                MARK_START()
            result[name].append(run(name, requests))
            if callgrind:
                MARK_END()
    Switches.plain = ()
    result_file(os.environ["VAR_DIR"], callgrind).write_text(json.dumps(result))


def result_file(var_dir: str, callgrind: bool) -> Path:
    return Path(var_dir) / f"result-{'callgrind' if callgrind else 'cpu'}.json"


def spawn(service: str, args, env: dict, out: Path | None) -> subprocess.Popen:
    command = [
        sys.executable,
        __file__,
        "--child",
        service,
        *("--requests", str(args.requests)),
        *("--rounds", str(args.callgrind_rounds if out else args.rounds)),
    ]
    if out is not None:
        command = [
            *("valgrind", "--tool=callgrind", "--zero-before=getloadavg"),
            *("--dump-before=ctermid", "--separate-threads=yes", f"--callgrind-out-file={out}"),
            *command,
            "--callgrind",
        ]
    log = Path(env["VAR_DIR"]) / f"{'callgrind' if out else 'cpu'}.log"
    with log.open("w") as output:  # the access lines and callgrind's notes
        return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=output, stderr=output)  # noqa: S603


def result_of(process: subprocess.Popen, env: dict, callgrind: bool) -> dict:
    if process.wait() != 0:
        raise SystemExit(
            f"a measuring process failed (exit {process.returncode}): {env['VAR_DIR']}"
        )
    return json.loads(result_file(env["VAR_DIR"], callgrind).read_text())


def instructions(out: Path) -> list[int]:
    """The instructions of the thread that answered the requests (the first), per dump
    callgrind made at --dump-before, in order. The gateway's maintenance and traffic
    threads are left out: they run by the clock, and under callgrind a request takes far
    longer, so their share would be inflated (and it varies from run to run)."""
    dumps = []
    for name in glob.glob(f"{out}.*-01"):
        text = Path(name).read_text()
        if "Trigger: --dump-before" not in text[:2000]:
            continue
        total = re.search(r"^summary: (\d+)", text, re.MULTILINE)
        part = int(name.rsplit(".", 1)[1].split("-")[0])
        dumps.append((part, int(total.group(1)) if total else 0))
    return [count for _, count in sorted(dumps)]


def environment(service: str, root: Path, port: int) -> dict:
    env = dict(os.environ)
    env.update(
        APP_ENV="development",
        VAR_DIR=str(root / service),
        DJANGO_SETTINGS_MODULE=SETTINGS[service],
        SERVICE_NAME="gateway" if service == "gateway" else "products",
        # Every service at the static upstream, active health checks off: the gateway's
        # maintenance thread runs by the clock, and under callgrind a request is slow.
        PRODUCTS_SERVICE_URL=f"http://127.0.0.1:{port}",
        USERS_SERVICE_URL=f"http://127.0.0.1:{port}",
        ORDERS_SERVICE_URL=f"http://127.0.0.1:{port}",
        GATEWAY_HEALTH_INTERVAL="0",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"),
        CACHE_KEY_PREFIX=f"bypass{secrets.token_hex(4)}",
        GATEWAY_RATE_USER="100000000/min",
        GATEWAY_RATE_ANON="100000000/min",
        GATEWAY_CACHE_SECONDS="0",
        PROMETHEUS_MULTIPROC_DIR=str(root / service / "metrics"),
        LOG_LEVEL="INFO",
    )
    (root / service / "metrics").mkdir(parents=True)
    return env


def table(service: str, per_request: dict[str, float], unit: str, digits: int) -> None:
    """Each variant; what it adds to the request with every bypass, and the share of its
    own request that the bypasses it switched off save."""
    base = per_request["all bypasses"]
    print(f"{service}: {unit} per request; + on the request with every bypass; share saved")
    for name, value in per_request.items():
        added, saved = 100 * (value - base) / base, 100 * (value - base) / value
        print(f"  {name:22} {value:12.{digits}f}   {added:+6.1f} %   {saved:5.1f} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7, help="alternating CPU rounds")
    parser.add_argument("--callgrind-rounds", type=int, default=2, help="rounds counted")
    parser.add_argument("--cpu-only", action="store_true", help="no callgrind run")
    parser.add_argument("--service", choices=sorted(VARIANTS), help="one process only")
    parser.add_argument("--child", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        prepare()
        return 0
    if args.child:
        logging.getLogger("django.request").setLevel(logging.ERROR)
        child(args.child, args.requests, args.rounds, args.callgrind)
        return 0

    services = [args.service] if args.service else list(VARIANTS)
    root = Path(tempfile.mkdtemp(prefix="bypass-costs-"))
    port = free_port()
    static = start_static_upstream(port)
    try:
        envs = {service: environment(service, root, port) for service in services}
        if "products" in envs:
            subprocess.run(  # noqa: S603 -- our own command
                [sys.executable, __file__, "--prepare"],
                cwd=REPO_ROOT,
                env=envs["products"],
                check=True,
            )
        if not args.cpu_only:
            outs = {service: root / f"{service}.callgrind" for service in services}
            running = {s: spawn(s, args, envs[s], outs[s]) for s in services}
            for service, process in running.items():
                result_of(process, envs[service], callgrind=True)
                counts = instructions(outs[service])
                names = list(VARIANTS[service])
                if len(counts) != len(names) * args.callgrind_rounds:
                    raise SystemExit(f"{service}: {len(counts)} callgrind dumps")
                per_round = {
                    name: [count / args.requests for count in counts[index :: len(names)]]
                    for index, name in enumerate(names)
                }
                table(
                    service,
                    {name: statistics.median(figures) for name, figures in per_round.items()},
                    f"instructions (callgrind, median of {args.callgrind_rounds} rounds of "
                    f"{args.requests})",
                    0,
                )
                for name, figures in per_round.items():
                    print(f"    {name:22} rounds: {', '.join(f'{f:.0f}' for f in figures)}")
        for service in services:
            rounds = result_of(spawn(service, args, envs[service], None), envs[service], False)
            table(
                service,
                {name: statistics.median(figures) for name, figures in rounds.items()},
                f"CPU ms (process_time, median of {args.rounds} alternating rounds "
                f"of {args.requests})",
                4,
            )
        print(f"(logs and callgrind files in {root})")
    finally:
        static.terminate()
        static.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
