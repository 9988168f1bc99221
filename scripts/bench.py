"""The performance of the whole platform in one run: endpoints, floors, cost curves, memory.

    .venv/bin/python scripts/bench.py [--quick] [--rounds N] [--duration S] [--only SECTIONS]
                                      [--out var/bench] [--embedded]
    python3 manage_all.py bench [the same arguments]

Starts the four projects as production runs them (devtools.harness: the entrypoint,
APP_ENV=production, gunicorn, 2 workers x 4 threads), on PostgreSQL and Redis when they
answer at 127.0.0.1 (fresh databases, Redis database 11), else on the embedded defaults
(SQLite, local memory: the gateway then runs one worker), and says which. The request
limits are raised so that no request is refused (the gateway's, and the user service's
login limits: the login runs are of one user), and the response cache is off (the
forwarding is measured). Sections (`--only`, comma-separated; all by default):

- endpoints: signed-in GET /products/{id}, GET /products, POST /orders and POST
  /users/login, at 1 and 32 connections, direct and through the gateway, in alternating
  rounds: req/s, p50, p99, non-2xx and socket errors, CPU ms per request of each
  project's process group (master, workers, helpers; /proc);
- floors: (a) a bare DRF APIView forwarding with the gateway's upstream client
  (scripts/floors/forward.py) and the gateway, each in front of scripts/static_upstream.py;
  (b) a bare DRF RetrieveAPIView on the product model (scripts/floors/read.py) under
  gunicorn with the product service's workers and threads, and the product service;
- lists: GET /products p50 at 1k, 10k and 100k products;
- orders: GET /orders p50 for a user with 10 and one with 10,000 orders;
- instances: throughput through a gateway in front of 1 and of 2 product instances;
- peers: an anonymous GET /products/{id} direct, behind nginx (scripts/peers/nginx.py: one
  worker, upstream keepalive; skipped, saying why, without nginx), behind django-revproxy's
  bare ProxyView (scripts/peers/django_revproxy.py, the gateway's gunicorn settings) and
  through the gateway with its response cache off and on, at 32 and 1 connections in
  alternating rounds: CPU ms per request of the product service and of what is in front,
  req/s against direct, p50 added at 1 connection;
- memory: RSS and PSS of each project's process group, idle and under load, and of
  everything `manage_all.py up` starts (the embedded default) after 200 requests.

Every figure is the median of its rounds, with min and max. Prints a table, writes
OUT/bench-<time>.json, OUT/latest.json and OUT/latest.svg. Needs wrk.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.harness import (
    REPO_ROOT,
    ServiceProcess,
    Stack,
    another_instance,
    free_port,
    http,
    json_call,
    mint_access_token,
    start_gateway,
    start_stack,
    wait_until_ok,
)
from scripts import bench_report
from scripts.benchlib import (
    WRK_MISSING,
    answers,
    machine_facts,
    memory_mb,
    process_tree,
    request_script,
    summary,
    wrk,
    wrk_installed,
)
from scripts.peers.nginx import NGINX_MISSING, nginx_binary, nginx_command

SECTIONS = ("endpoints", "floors", "lists", "orders", "instances", "peers", "keys", "memory")
PROJECTS = ("gateway", "users", "products", "orders")
UNLIMITED = "100000000/min"
PASSWORD = "bench-password-9-long"  # noqa: S105 -- a throwaway user of a throwaway stack
STOCK = 1_000_000_000


def backend_env(embedded: bool) -> dict:
    """PostgreSQL and Redis when they answer (unless set already, or --embedded)."""
    chosen = {}
    if embedded:
        for key in [k for k in os.environ if k.endswith("_DATABASE_URL") or k == "REDIS_URL"]:
            del os.environ[key]
    else:
        if not os.environ.get("PRODUCTS_DATABASE_URL") and answers("127.0.0.1", 5432):
            for name in ("USERS", "PRODUCTS", "ORDERS", "GATEWAY"):
                os.environ[f"{name}_DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/postgres"
        if not os.environ.get("REDIS_URL") and answers("127.0.0.1", 6379):
            os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/11"
    database = os.environ.get("PRODUCTS_DATABASE_URL", "")
    chosen["database"] = "postgresql" if database.startswith("postgres") else "sqlite"
    chosen["cache"] = "redis" if os.environ.get("REDIS_URL") else "local memory"
    chosen["embedded"] = chosen == {"database": "sqlite", "cache": "local memory"}
    return chosen


# -- data -----------------------------------------------------------------------------------

LOAD_PRODUCTS = """
import sys, django
django.setup()
from product_service.catalog.models import Product
first, last, stock = map(int, sys.argv[1:4])
Product.objects.bulk_create(
    (Product(sku=f"BENCH-{i}", name=f"Benchmark product {i}", price="9.90", stock=stock,
             units_received=stock) for i in range(first, last)),
    batch_size=5000,
)
print(Product.objects.order_by("id").values_list("id", flat=True).first())
"""

ORDER_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = '{"items": [{"product_id": ' .. math.random(%d, %d) .. ', "quantity": 1}]}'
  return wrk.format(nil, nil, nil, body)
end
"""

LOAD_ORDERS = """
import sys, uuid, django
django.setup()
from order_service.orders.models import Order, OrderItem
user_id, count = map(int, sys.argv[1:3])
orders = [Order(id=uuid.uuid4(), user_id=user_id, status="confirmed", stock="reserved",
                total="9.90") for _ in range(count)]
Order.objects.bulk_create(orders, batch_size=5000)
OrderItem.objects.bulk_create(
    (OrderItem(order=o, product_id=1, name="Benchmark product", unit_price="9.90", quantity=1)
     for o in orders),
    batch_size=5000,
)
"""


def run_in(service: ServiceProcess, code: str, *args: object) -> str:
    """CODE run with a project's settings and environment (its database)."""
    settings = {"products": "product_service", "orders": "order_service"}[service.name]
    result = subprocess.run(  # noqa: S603 -- our own code
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO_ROOT,
        env={**service.env, "DJANGO_SETTINGS_MODULE": f"{settings}.settings"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"loading data into {service.name} failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip()


# -- the run --------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.root = root
        self.stack: Stack | None = None
        self.extra: list[subprocess.Popen] = []
        self.results: dict = {}
        self.products = 0
        self.warming = False
        self.skipped: dict[str, str] = {}

    # what is measured ---------------------------------------------------------------------

    def groups(self, *names: str) -> dict[str, Callable[[], list[int]]]:
        stack = self.stack
        return {name: (lambda n=name: process_tree(stack[n].process.pid)) for name in names}

    def run(
        self,
        url: str,
        connections: int,
        *,
        token: str = "",
        script=None,
        least=0.0,
        headers: dict[str, str] | None = None,
        **kw,
    ) -> dict:
        """One wrk run of --duration seconds (at least LEAST), then the requests wrk left
        queued when it stopped are let through before the next run starts."""
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        try:
            return wrk(
                url,
                connections=connections,
                duration=1 if self.warming else max(self.args.duration, least),
                headers=headers,
                script=script,
                **kw,
            )
        finally:
            self.drain(url)

    def drain(self, url: str) -> None:
        """Wait until the server behind URL answers its /ready (behind what is queued)."""
        base = url.split("/", 3)
        with contextlib.suppress(OSError):
            http("GET", "/".join(base[:3]) + "/ready", timeout=60)

    def alternate(self, targets: dict[str, Callable[[], dict]], warmup: bool = True) -> dict:
        """Each target's summary over the rounds, the targets taking turns in every round."""
        if warmup and not self.args.quick:
            self.warming = True  # one short run each, whatever it gets
            try:
                for measure in targets.values():
                    with contextlib.suppress(RuntimeError):
                        measure()
            finally:
                self.warming = False
        runs: dict[str, list[dict]] = {}
        for _ in range(self.args.rounds):
            for name, measure in targets.items():
                runs.setdefault(name, []).append(measure())
        return {name: summary(figures) for name, figures in runs.items()}

    # set-up -------------------------------------------------------------------------------

    def start(self) -> None:
        env = {
            "GATEWAY_RATE_USER": UNLIMITED,
            "GATEWAY_RATE_ANON": UNLIMITED,
            "GATEWAY_RATE_AUTH": UNLIMITED,
            "GATEWAY_RATE_CONSUMER": UNLIMITED,
            "USERS_RATE_LOGIN": UNLIMITED,
            "USERS_RATE_LOGIN_USER": UNLIMITED,
            "GATEWAY_CACHE_SECONDS": "0",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        }
        self.stack = start_stack(self.root / "stack", PROJECTS[1:] + PROJECTS[:1], env=env)
        self.token = mint_access_token(self.stack, user_id=2, lifetime=6 * 3600)
        self.products = self.args.list_sizes[0]
        self.first_id = int(run_in(self.stack["products"], LOAD_PRODUCTS, 0, self.products, STOCK))
        self.product_path = f"/products/{self.first_id}"
        status, _, body = json_call(
            "POST",
            f"{self.stack['users'].url}/users/register",
            {"username": "bench", "password": PASSWORD},
        )
        if status != 201:
            raise RuntimeError(f"could not register the bench user: {status} {body}")

    def url(self, side: str, path: str) -> str:
        project = {"/products": "products", "/orders": "orders", "/users": "users"}
        name = "gateway" if side == "gateway" else project["/" + path.split("?")[0].split("/")[1]]
        return self.stack[name].url + path

    # sections -----------------------------------------------------------------------------

    def endpoints(self) -> dict:
        # Each order takes one unit of a product drawn at random, so orders do not queue
        # on one product's row lock.
        order = self.root / "order.lua"
        order.write_text(ORDER_SCRIPT % (self.first_id, self.first_id + self.products - 1))
        login = request_script(
            "POST", json.dumps({"username": "bench", "password": PASSWORD}), self.root
        )
        # A login hashes (Argon2) and an order makes two services write: on a busy machine
        # one answer may take seconds, so their runs last 5 s at least (3 s when quick).
        slow = 3 if self.args.quick else 5
        endpoints = {
            "GET /products/{id}": (self.product_path, None, self.token, 0),
            "GET /products": ("/products", None, self.token, 0),
            "POST /orders": ("/orders", order, self.token, slow),
            "POST /users/login": ("/users/login", login, "", slow),
        }
        groups = self.groups(*PROJECTS)
        loaded: dict = {}

        def snapshot() -> None:
            if not loaded:
                loaded.update(self.memory())

        targets = {}
        for label, (path, script, token, least) in endpoints.items():
            for connections in (32, 1):
                for side in ("direct", "gateway"):
                    loading = (label, connections, side) == ("GET /products/{id}", 32, "gateway")
                    targets[f"{label}|{side}@{connections}"] = partial(
                        self.run,
                        self.url(side, path),
                        connections,
                        token=token,
                        script=script,
                        least=least,
                        groups=groups,
                        during=snapshot if loading else None,
                    )
        measured = self.alternate(targets)
        self.results.setdefault("memory", {})["stack_loaded"] = loaded
        by_endpoint: dict = {}
        for key, figures in measured.items():
            label, target = key.split("|")
            by_endpoint.setdefault(label, {})[target] = figures
        return by_endpoint

    def floors(self) -> dict:
        stack = self.stack
        static_port = free_port()
        static = self._spawn(
            [
                *(sys.executable, "-m", "granian", "--interface", "wsgi", "--http", "1"),
                *("--no-ws", "--port", str(static_port), "--workers", "1"),
                "scripts.static_upstream:app",
            ],
            dict(os.environ),
        )
        static_url = f"http://127.0.0.1:{static_port}"
        self._wait(static_url + "/", static)
        gateway_workers = stack["gateway"].env["WEB_CONCURRENCY"]
        if not stack.base_env.get("REDIS_URL"):
            gateway_workers = "1"  # as the entrypoint runs the gateway without Redis
        forward_url, forward = self._floor(
            "forward", {"FLOOR_UPSTREAM": static_url, "WEB_CONCURRENCY": gateway_workers}
        )
        gw_static = start_gateway(
            stack,
            "gateway-static",
            PRODUCTS_SERVICE_URL=static_url,
            CACHE_KEY_PREFIX=f"{stack.base_env['CACHE_KEY_PREFIX']}:gateway-static",
        )
        read_url, read = self._floor("read", dict(stack["products"].env))
        path = self.product_path
        tree = process_tree
        proxy_targets, read_targets = {}, {}
        for connections in (1, 32):
            proxy_targets.update(
                {
                    f"static@{connections}": lambda c=connections: self.run(
                        static_url + path, c, token=self.token
                    ),
                    f"floor@{connections}": lambda c=connections: self.run(
                        forward_url + path,
                        c,
                        token=self.token,
                        groups={"floor": lambda: tree(forward.pid)},
                    ),
                    f"gateway@{connections}": lambda c=connections: self.run(
                        gw_static.url + path,
                        c,
                        token=self.token,
                        groups={"gateway": lambda: tree(gw_static.process.pid)},
                    ),
                }
            )
            read_targets.update(
                {
                    f"floor@{connections}": lambda c=connections: self.run(
                        read_url + path, c, groups={"floor": lambda: tree(read.pid)}
                    ),
                    f"service@{connections}": lambda c=connections: self.run(
                        stack["products"].url + path,
                        c,
                        token=self.token,
                        groups=self.groups("products"),
                    ),
                }
            )
        result = {"proxy": self.alternate(proxy_targets), "read": self.alternate(read_targets)}
        gw_static.stop()
        return result

    def lists(self) -> dict:
        curve = {}
        for size in self.args.list_sizes:
            if size > self.products:
                started = time.monotonic()
                run_in(self.stack["products"], LOAD_PRODUCTS, self.products, size, STOCK)
                seconds = time.monotonic() - started
                print(f"  loaded {size - self.products} products in {seconds:.1f} s", flush=True)
                self.products = size
            curve[str(size)] = self.alternate(
                {"direct@1": lambda: self.run(self.url("direct", "/products"), 1, token=self.token)}
            )["direct@1"]
        return curve

    def orders(self) -> dict:
        targets = {}
        for index, count in enumerate(self.args.order_counts):
            user_id = 1000 + index
            run_in(self.stack["orders"], LOAD_ORDERS, user_id, count)
            token = mint_access_token(self.stack, user_id=user_id, lifetime=6 * 3600)
            targets[str(count)] = lambda t=token: self.run(
                self.url("direct", "/orders"), 1, token=t
            )
            # The same page length for both users (10 rows), so the curve shows what the
            # number of orders costs apart from serialising a longer first page.
            targets[f"{count}/10"] = lambda t=token: self.run(
                self.url("direct", "/orders?page_size=10"), 1, token=t
            )
        measured = self.alternate(targets)
        self.results["orders_page_of_10"] = {
            name.split("/")[0]: figures for name, figures in measured.items() if "/" in name
        }
        return {name: figures for name, figures in measured.items() if "/" not in name}

    def instances(self) -> dict:
        stack = self.stack
        first = stack["products"]
        # Not registered: the main gateway keeps its one instance.
        second = another_instance(stack, "products", "products-2", SERVICE_REGISTRATION="off")
        both = start_gateway(
            stack,
            "gateway-2x",
            PRODUCTS_SERVICE_URL=f"{first.url},{second.url}",
            CACHE_KEY_PREFIX=f"{stack.base_env['CACHE_KEY_PREFIX']}:gateway-2x",
        )
        path = self.product_path
        try:
            return self.alternate(
                {
                    "1": lambda: self.run(stack["gateway"].url + path, 32, token=self.token),
                    "2": lambda: self.run(both.url + path, 32, token=self.token),
                }
            )
        finally:
            both.stop()
            second.stop()

    def keys(self) -> dict:
        """The product read through the gateway (response cache off) anonymous, with a
        JWT and with an API key of a consumer: the gateway's CPU per request for each, in
        alternating rounds (what a key check adds: bench_report's target)."""
        gateway = self.stack["gateway"]
        status, _, consumer = json_call(
            "POST", f"{gateway.url}/gateway/consumers", {"name": "bench"}, token=self.token
        )
        if status != 201:
            raise RuntimeError(f"could not make the bench consumer: {status} {consumer}")
        status, _, key = json_call(
            "POST",
            f"{gateway.url}/gateway/consumers/{consumer['id']}/keys",
            {"scopes": ["products:read"]},
            token=self.token,
        )
        if status != 201:
            raise RuntimeError(f"could not make the bench key: {status} {key}")
        callers = {
            "anonymous": {},
            "jwt": {"Authorization": f"Bearer {self.token}"},
            "api_key": {"X-API-Key": key["key"]},
        }
        group = {"gateway": lambda: process_tree(gateway.process.pid)}
        targets = {
            f"{caller}@{connections}": partial(
                self.run,
                gateway.url + self.product_path,
                connections,
                headers=headers,
                groups=group,
            )
            for connections in (32, 1)
            for caller, headers in callers.items()
        }
        return self.alternate(targets)

    def peers(self) -> dict:
        """The product read direct and behind each peer; every group's CPU per request."""
        stack = self.stack
        products = stack["products"]
        path = self.product_path
        workers = stack["gateway"].env["WEB_CONCURRENCY"]
        if not stack.base_env.get("REDIS_URL"):
            workers = "1"  # as the entrypoint runs the gateway without Redis
        fronts: dict[str, tuple[str, Callable[[], list[int]]]] = {}
        binary = nginx_binary()
        if binary is None:
            self.skipped["peers: nginx"] = NGINX_MISSING
            print(f"  peers: skipping nginx: {NGINX_MISSING}", flush=True)
        else:
            port = free_port()
            command = nginx_command(
                binary, self.root / "nginx", port, products.url.removeprefix("http://")
            )
            nginx = self._spawn(command, dict(os.environ), "nginx")
            self._wait(f"http://127.0.0.1:{port}{path}", nginx)
            fronts["nginx"] = (f"http://127.0.0.1:{port}", lambda: process_tree(nginx.pid))
        revproxy_url, revproxy = self._floor(
            "revproxy",
            {"PEER_UPSTREAM": products.url, "WEB_CONCURRENCY": workers},
            module="scripts.peers.django_revproxy",
        )
        fronts["revproxy"] = (revproxy_url, lambda: process_tree(revproxy.pid))
        gateway = stack["gateway"]  # the stack's: response cache off
        fronts["gateway"] = (gateway.url, lambda: process_tree(gateway.process.pid))
        cached = start_gateway(
            stack,
            "gateway-cached",
            GATEWAY_CACHE_SECONDS="300",
            CACHE_KEY_PREFIX=f"{stack.base_env['CACHE_KEY_PREFIX']}:gateway-cached",
        )
        fronts["gateway-cached"] = (cached.url, lambda: process_tree(cached.process.pid))
        product_group = {"products": lambda: process_tree(products.process.pid)}
        targets = {}
        for connections in (32, 1):
            targets[f"direct@{connections}"] = partial(
                self.run, products.url + path, connections, groups=product_group
            )
            for name, (url, tree) in fronts.items():
                targets[f"{name}@{connections}"] = partial(
                    self.run, url + path, connections, groups={**product_group, "proxy": tree}
                )
        try:
            return self.alternate(targets)
        finally:
            cached.stop()

    def memory(self) -> dict:
        return {name: memory_mb(process_tree(self.stack[name].process.pid)) for name in PROJECTS}

    # helpers ------------------------------------------------------------------------------

    def _spawn(self, argv: list[str], env: dict, log: str = "floor") -> subprocess.Popen:
        with open(self.root / f"{log}.log", "ab") as out:
            process = subprocess.Popen(  # noqa: S603 -- our own command
                argv,
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.extra.append(process)
        return process

    def _wait(self, url: str, process: subprocess.Popen) -> None:
        if problem := wait_until_ok(url, process, timeout=60):
            raise RuntimeError(f"{url}: {problem} (logs in {self.root})")

    def _floor(self, kind: str, env: dict, module: str = "") -> tuple[str, subprocess.Popen]:
        """A floor (or peer) project under gunicorn with the projects' configuration file."""
        module = module or f"scripts.floors.{kind}"
        port = free_port()
        env = {
            **self.stack.base_env,
            **env,
            "VAR_DIR": env.get("VAR_DIR") or str(self.root / f"floor-{kind}"),
            "PORT": str(port),
            "SERVICE_NAME": f"floor-{kind}",
            "DJANGO_SETTINGS_MODULE": module,
        }
        conf = REPO_ROOT / "common" / "runtime" / "gunicorn_conf.py"
        process = self._spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(conf),
                f"{module}:application",
            ],
            env,
            f"floor-{kind}",
        )
        url = f"http://127.0.0.1:{port}"
        self._wait(url + self.product_path, process)
        return url, process

    def stop(self) -> None:
        for process in self.extra:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
        self.extra = []
        if self.stack is not None:
            self.stack.stop()
            self.stack = None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, small data")
    parser.add_argument("--rounds", type=int, help="rounds per figure (default 3; quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 5; quick 2)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"of {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(REPO_ROOT / "var" / "bench"), help="where to write")
    parser.add_argument(
        "--embedded", action="store_true", help="SQLite and local memory even if PG/Redis answer"
    )
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.duration = args.duration or (2 if args.quick else 5)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section {', '.join(sorted(unknown))}; choose from {SECTIONS}")
    args.list_sizes = [1000, 2000] if args.quick else [1000, 10_000, 100_000]
    args.order_counts = [10, 100] if args.quick else [10, 10_000]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not wrk_installed():
        print(WRK_MISSING, file=sys.stderr)
        return 2
    started = time.monotonic()
    report = {
        "machine": machine_facts(),
        "backend": backend_env(args.embedded),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "quick": args.quick,
            "sections": args.sections,
            "raised_limits": [
                "GATEWAY_RATE_USER",
                "GATEWAY_RATE_ANON",
                "GATEWAY_RATE_AUTH",
                "USERS_RATE_LOGIN",
                "USERS_RATE_LOGIN_USER",
            ],
            "response_cache": "off (GATEWAY_CACHE_SECONDS=0)",
        },
    }
    backend = report["backend"]
    print(
        f"bench: {backend['database']}, {backend['cache']}"
        + (
            " (the embedded defaults: PostgreSQL or Redis did not answer)"
            if backend["embedded"]
            else ""
        )
        + f"; {args.rounds} round(s) of {args.duration:g} s",
        flush=True,
    )
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    bench = Bench(args, root)
    try:
        bench.start()
        idle = bench.memory()
        for section in ("endpoints", "floors", "lists", "orders", "instances", "peers", "keys"):
            if section in args.sections:
                print(f"- {section} ...", flush=True)
                bench.results[section] = getattr(bench, section)()
        if "memory" in args.sections:
            print("- memory ...", flush=True)
            memory = bench.results.setdefault("memory", {})
            memory["stack_idle"] = idle
            if not memory.get("stack_loaded"):
                memory["stack_loaded"] = {}
                bench.run(
                    bench.url("gateway", bench.product_path),
                    32,
                    token=bench.token,
                    during=lambda: memory["stack_loaded"].update(bench.memory()),
                )
            bench.stop()  # the stack's memory is not `up`'s
            from scripts.measure_up_memory import measure

            memory["up"] = measure(200)
    finally:
        bench.stop()
        shutil.rmtree(root, ignore_errors=True)
    report["sections"] = bench.results
    report["skipped"] = bench.skipped
    report["targets"] = bench_report.targets(bench.results)
    report["seconds"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    text = json.dumps(report, indent=1)
    (out / f"bench-{stamp}.json").write_text(text)
    (out / "latest.json").write_text(text)
    (out / "latest.svg").write_text(bench_report.svg(report))
    print(bench_report.table(report))
    print(
        f"written: {out / f'bench-{stamp}.json'}, latest.json, latest.svg ({report['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
