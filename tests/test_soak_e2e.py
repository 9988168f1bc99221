"""The soak, bounded: a careful client's load through the gateway while four faults come
and go, then nothing lost, nothing twice, every unit of stock accounted for.

The stack: a private Redis shared by every project, users, two product instances (one
database), orders balancing its reservations over both (`SERVICE_CALL_FAILURES=2`: a
failing instance is ejected quickly and a reservation, carrying its order as idempotency
key, is sent again to the other), and a gateway with its response cache on.

The load, for about LOAD_SECONDS from READERS + BUYERS threads: anonymous product reads
(list and detail, through the response cache); orders of 1-3 units of one or two of
PRODUCTS products, each with a fresh Idempotency-Key, sent again with the same key on a
5xx, a timeout, a broken connection or `idempotency-key-in-use` (at most ATTEMPTS tries,
a short back-off), as a careful client does; and cancels of about one confirmed order in
four (`POST /orders/{id}/cancel`, retried the same way). One product has little stock, so
`insufficient-stock` answers are part of the load.

The faults, one after another, each HOLD seconds, with steady load between them:
(1) one product instance frozen (SIGSTOP), thawed; (2) the other killed (SIGKILL) and
started again on its port; (3) Redis frozen, thawed; (4) the order service killed and
started again. For each, the time from its end to the first success of each path (read,
order, cancel) is measured; the test waits for that event before the next fault.

Then `reconcile` runs (the pending timeout, ORDERS_PENDING_TIMEOUT seconds, past) and the
databases are read directly (dumpdata): for every product, stock + units held by
unreleased reservations == initial stock == stock + units in confirmed orders; the
unreleased reservations are exactly the confirmed orders; no Idempotency-Key made two
orders and none the client saw rejected made one; every 201 the client saw exists
exactly once, with the status the client last saw (or cancelled, if a cancel it gave up
on went through); the gateway's cached product answers agree with the database; no 500,
from the gateway or in any service's log.

Runs on the 2-core development machine (docs/operations.md, "Soak test"): about 1,800-2,100
requests in 45-50 s of load, 67 s (SQLite) to 76 s (PostgreSQL) for the test with its
stack's start, some 15 s more for pytest to stop it. The figures are printed (`-s`) and
written to var/test-reports/soak.json.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.testing import wait_until
from devtools.harness import (
    REPO_ROOT,
    RedisProcess,
    ServiceProcess,
    Stack,
    another_instance,
    dump_rows,
    http,
    mint_access_token,
    new_product,
    run_reconcile,
    start_gateway,
    start_stack,
)

pytestmark = pytest.mark.e2e

READERS, BUYERS = 2, 3
STEADY = 4.0  # seconds of load before, between and after the faults
HOLD = 4.0  # how long each fault lasts
ATTEMPTS = 6  # a careful client's tries of one order or cancel
TIMEOUT = 10.0  # the client's own timeout per request
ORDERS_PENDING_TIMEOUT = 5  # seconds; reconcile fails orders pending longer
STOCKS = [400, 400, 400, 12]  # the last one runs out, and comes back with cancels
MAX_REQUESTS = 6000  # the load's bound
MAX_WALL = 240.0  # the test's own bound, in seconds (generous: a loaded CI machine)
REPORT = REPO_ROOT / "var" / "test-reports" / "soak.json"
FAST_EJECTION = {  # the gateway takes a failing instance out, and back, within seconds
    "GATEWAY_BREAKER_FAILURES": "3",
    "GATEWAY_BREAKER_RESET_SECONDS": "2",
    "GATEWAY_EJECT_CONSECUTIVE": "3",
    "GATEWAY_EJECT_BASE_SECONDS": "1",
    "GATEWAY_HEALTH_INTERVAL": "1",
    "GATEWAY_RATE_ANON": "1000000/min",
    "GATEWAY_RATE_USER": "1000000/min",
}
RETRIED = {0, 502, 503, 504}  # 0: no answer (timeout, connection refused or reset)
EXPECTED = {200, 201, 409, *RETRIED}
PATHS = ("read", "order", "cancel")


@dataclass
class Sent:
    path: str  # read, order, cancel
    started: float
    ended: float
    status: int


@dataclass
class Key:
    """One Idempotency-Key: the order it asked for and what the client made of it."""

    user_id: int
    items: list[dict]
    statuses: list[int] = field(default_factory=list)
    order_ids: set[str] = field(default_factory=set)
    outcome: str = "running"  # created, rejected, gave up


class Client:
    """The careful client: its requests, its keys and the orders it was told about."""

    def __init__(self, gateway: ServiceProcess, stack: Stack, products: list[dict]) -> None:
        self.base = gateway.url
        self.stack = stack
        self.products = products
        self.sent: list[Sent] = []
        self.keys: dict[str, Key] = {}
        self.orders: dict[str, str] = {}  # order id -> the status the client last saw
        self.unexpected: list[tuple[str, int, object]] = []
        self.stop = threading.Event()

    def call(self, path: str, method: str, url: str, body=None, *, token="", key="") -> tuple:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        data = json.dumps(body).encode() if body is not None else None
        started = time.monotonic()
        try:
            status, answer_headers, raw = http(
                method, f"{self.base}{url}", body=data, headers=headers, timeout=TIMEOUT
            )
        except OSError:  # timeouts, refused and reset connections
            status, answer_headers, raw = 0, {}, b""
        self.sent.append(Sent(path, started, time.monotonic(), status))
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:200]
        if status not in EXPECTED:
            self.unexpected.append((f"{method} {url}", status, parsed))
        return status, answer_headers, parsed

    def careful(self, path: str, send: Callable[[], tuple]) -> tuple:
        """Send until an answer that is not worth sending again, or ATTEMPTS tries."""
        for attempt in range(ATTEMPTS):
            status, headers, body = send()
            in_use = status == 409 and str((body or {}).get("type", "")).endswith(
                "idempotency-key-in-use"
            )
            if status not in RETRIED and not in_use:
                return status, headers, body
            if attempt < ATTEMPTS - 1:
                time.sleep(min(2.0, 0.25 * 2**attempt) * random.uniform(0.5, 1.0))
        return None, {}, None

    def reader(self) -> None:
        while not self.stop.is_set():
            if random.random() < 0.5:
                self.call("read", "GET", "/products?page_size=20")
            else:
                self.call("read", "GET", f"/products/{random.choice(self.products)['id']}")
            time.sleep(0.05)

    def buyer(self, user_id: int) -> None:
        token = mint_access_token(self.stack, user_id=user_id, lifetime=3600)
        while not self.stop.is_set():
            chosen = random.sample(self.products, random.choice((1, 1, 2)))
            items = [{"product_id": p["id"], "quantity": random.randint(1, 3)} for p in chosen]
            key = uuid.uuid4().hex
            record = self.keys[key] = Key(user_id, items)

            def place(record=record, key=key) -> tuple:
                answer = self.call(
                    "order", "POST", "/orders", {"items": record.items}, token=token, key=key
                )
                record.statuses.append(answer[0])
                if answer[0] == 201:
                    record.order_ids.add(answer[2]["id"])
                return answer

            status, _, body = self.careful("order", place)
            if status == 201:
                record.outcome = "created"
                self.orders[body["id"]] = body["status"]
                if random.random() < 0.25:
                    self.cancel(body["id"], token)
            else:
                record.outcome = "rejected" if status is not None else "gave up"
            time.sleep(0.1)

    def cancel(self, order_id: str, token: str) -> None:
        url = f"/orders/{order_id}/cancel"
        status, _, body = self.careful(
            "cancel", lambda: self.call("cancel", "POST", url, token=token)
        )
        if status == 200:
            self.orders[order_id] = body["status"]

    def succeeded_since(self, path: str, since: float) -> float | None:
        """Seconds from SINCE to the end of the first success of PATH sent after it."""
        ok = [
            s.ended
            for s in list(self.sent)
            if s.path == path and s.started >= since and s.status in (200, 201)
        ]
        return round(min(ok) - since, 2) if ok else None


def access_lines(service: ServiceProcess) -> int:
    """Requests a process has answered, from its JSON access log (probes are not logged)."""
    return service.log_path.read_text(errors="replace").count('"method": ')


def group_signal(service: ServiceProcess, signum: int) -> None:
    """The server and its workers (the harness gives each its own process group)."""
    os.killpg(service.process.pid, signum)


@pytest.fixture
def soak_stack(tmp_path: Path, private_redis: RedisProcess) -> Iterator[tuple[Stack, float]]:
    """The stack, and when its start began (the test's wall time counts it)."""
    began = time.monotonic()
    redis = {"REDIS_URL": private_redis.url}
    stack = start_stack(tmp_path, ["users", "products", "orders"], env=redis)
    try:
        first = stack["products"]
        second = another_instance(stack, "products", "products-2")
        both = f"{first.url},{second.url}"
        orders = stack["orders"]  # started again, naming both product instances
        orders.stop()
        orders.env.update(
            PRODUCTS_SERVICE_URL=both,
            SERVICE_CALL_FAILURES="2",
            SERVICE_CALL_EJECT_SECONDS="3",
            HTTP_READ_TIMEOUT="2",
            ORDERS_PENDING_TIMEOUT=str(ORDERS_PENDING_TIMEOUT),
        )
        orders.start(migrate=False)
        start_gateway(stack, PRODUCTS_SERVICE_URL=both, **redis, **FAST_EJECTION)
        yield stack, began
    finally:
        for name in ("products", "products-2", "orders"):  # nothing left frozen
            service = stack.services.get(name)
            if service and service.process and service.process.poll() is None:
                group_signal(service, signal.SIGCONT)
        private_redis.thaw()
        stack.stop()


def test_soak_through_four_faults_loses_nothing(soak_stack, private_redis):
    stack, began = soak_stack
    products = [new_product(stack, stock=stock, price="3.10") for stock in STOCKS]
    initial = {product["id"]: product["stock"] for product in products}
    client = Client(stack["gateway"], stack, products)
    threads = [threading.Thread(target=client.reader) for _ in range(READERS)]
    threads += [threading.Thread(target=client.buyer, args=(500 + n,)) for n in range(BUYERS)]
    faults: dict[str, dict] = {}
    first, second, orders = stack["products"], stack["products-2"], stack["orders"]

    def kill(service: ServiceProcess) -> Callable[[], None]:
        return lambda: (group_signal(service, signal.SIGKILL), service.process.wait(timeout=10))

    def again(service: ServiceProcess) -> Callable[[], None]:
        return lambda: service.start(wait=False, migrate=False)  # on its port

    # (name, its beginning, its end, what must be ready again after it)
    plan: list[tuple[str, Callable[[], object], Callable[[], object], ServiceProcess | None]] = [
        (
            "product instance frozen",
            lambda: group_signal(first, signal.SIGSTOP),
            lambda: group_signal(first, signal.SIGCONT),
            None,
        ),
        ("product instance killed", kill(second), again(second), second),
        ("redis frozen", private_redis.freeze, private_redis.thaw, None),
        ("orders killed", kill(orders), again(orders), orders),
    ]
    load_began = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(STEADY)
        for name, begin, end, restarted in plan:
            started = time.monotonic()
            begin()
            time.sleep(HOLD)
            end()
            ended = time.monotonic()
            back: dict[str, float] = {}
            if restarted is not None:
                answered = access_lines(restarted)
                restarted.wait_ready()
                back["ready_seconds"] = round(time.monotonic() - ended, 2)
                wait_until(lambda r=restarted, n=answered: access_lines(r) > n, timeout=60)
                back["serving_seconds"] = round(time.monotonic() - ended, 2)
            wait_until(
                lambda ended=ended: all(
                    client.succeeded_since(path, ended) is not None for path in ("read", "order")
                ),
                timeout=60,
                every=0.1,
                what=f"reads and orders succeeding after: {name}",
            )
            time.sleep(STEADY)
            during = [s for s in list(client.sent) if started <= s.started < ended]
            faults[name] = {
                "lasted_seconds": round(ended - started, 2),
                # from the end of the fault (thawed, or started again) to the first
                # success of each path sent after it
                "recovery_seconds": {path: client.succeeded_since(path, ended) for path in PATHS},
                "requests_during": len(during),
                "failed_during": sum(1 for s in during if s.status not in (200, 201)),
                **back,  # a restarted process: /ready, then its first request served
            }
    finally:
        client.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    load_seconds = time.monotonic() - load_began
    assert not any(thread.is_alive() for thread in threads)

    # The pending timeout past since the last order was sent: reconcile settles the rest.
    last_order = max(s.started for s in client.sent if s.path == "order")
    time.sleep(max(0.0, last_order + ORDERS_PENDING_TIMEOUT + 0.5 - time.monotonic()))
    reconciled = run_reconcile(stack)
    assert reconciled.returncode == 0, reconciled.stderr
    assert reconciled.stdout.strip().endswith("0 release(s) still pending"), reconciled.stdout

    figures = check_invariants(stack, client, initial)
    figures.update(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=f"{os.cpu_count()} cores",
        database="postgresql"
        if stack["orders"].env.get("ORDERS_DATABASE_URL", "").startswith("postgres")
        else "sqlite",
        requests=len(client.sent),
        statuses=dict(sorted(Counter(str(s.status) for s in client.sent).items())),
        by_path=dict(Counter(s.path for s in client.sent)),
        keys=dict(Counter(record.outcome for record in client.keys.values())),
        faults=faults,
        reconcile=reconciled.stdout.strip(),
        load_seconds=round(load_seconds, 1),
        wall_seconds=round(time.monotonic() - began, 1),
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2) + "\n")
    print("\nsoak:", json.dumps(figures, indent=2))

    assert len(client.sent) <= MAX_REQUESTS
    assert figures["wall_seconds"] < MAX_WALL


def check_invariants(stack: Stack, client: Client, initial: dict[int, int]) -> dict:
    """Assert what must hold after the soak; return a few figures about it."""
    # The client never got a 500 nor anything a correct request should not get.
    assert client.unexpected == [], client.unexpected[:10]
    assert 500 not in {s.status for s in client.sent}
    for name, service in stack.services.items():
        log = service.log_path.read_text(errors="replace")
        assert '"status": 500' not in log, f"{name} answered 500:\n{service.log_tail()}"

    rows = dump_rows(stack, "orders", "orders.order", "orders.orderitem")
    held = dump_rows(
        stack, "products", "catalog.product", "catalog.reservation", "catalog.reservationitem"
    )
    orders = {row["pk"]: row for row in rows["orders.order"]}
    lines: dict[str, list[dict]] = defaultdict(list)
    for item in rows["orders.orderitem"]:
        lines[item["order"]].append(item)

    # Nothing pending, nothing left to release after reconcile.
    assert Counter(o["status"] for o in orders.values()).get("pending", 0) == 0
    assert {o["stock"] for o in orders.values() if o["status"] == "confirmed"} <= {"reserved"}
    assert all(
        o["stock"] in ("none", "released") for o in orders.values() if o["status"] != "confirmed"
    )

    # Stock: what is left plus what confirmed orders hold is what there was, and the
    # product service holds exactly the confirmed orders' reservations.
    stock = {row["pk"]: row["stock"] for row in held["catalog.product"]}
    confirmed = {pk for pk, o in orders.items() if o["status"] == "confirmed"}
    in_orders: Counter = Counter()
    for pk in confirmed:
        for item in lines[pk]:
            in_orders[item["product_id"]] += item["quantity"]
    unreleased = {
        row["pk"]: row["order_ref"]
        for row in held["catalog.reservation"]
        if row["released_at"] is None
    }
    in_reservations: Counter = Counter()
    for item in held["catalog.reservationitem"]:
        if item["reservation"] in unreleased:
            in_reservations[item["product"]] += item["quantity"]
    for product_id, units in initial.items():
        assert stock[product_id] + in_orders[product_id] == units, (product_id, stock, in_orders)
        assert in_reservations[product_id] == in_orders[product_id], product_id
    assert sorted(unreleased.values()) == sorted(confirmed)

    # No key made two orders; a key the client saw rejected made none that holds stock.
    by_key: dict[tuple[int, str], list[str]] = defaultdict(list)
    for pk, order in orders.items():
        if order["idempotency_key"]:
            by_key[(order["user_id"], order["idempotency_key"])].append(pk)
    assert all(len(ids) == 1 for ids in by_key.values())
    placed = {pk for pk, o in orders.items() if o["status"] in ("confirmed", "cancelled")}
    for key, record in client.keys.items():
        made = by_key.get((record.user_id, key), [])
        assert len(record.order_ids) <= 1, (key, record)
        if record.outcome == "created":
            assert made == list(record.order_ids), (key, record, made)
        elif record.outcome == "rejected":
            assert not set(made) & placed, (key, record)
    # Every order that holds or held stock was asked for with a key the client sent.
    sent_keys = {(record.user_id, key) for key, record in client.keys.items()}
    assert all((orders[pk]["user_id"], orders[pk]["idempotency_key"]) in sent_keys for pk in placed)

    # Every 201 the client saw exists once, as it last saw it (or cancelled since).
    for order_id, seen in client.orders.items():
        assert orders[order_id]["status"] in {seen, "cancelled"}, (order_id, seen)

    # The gateway's cached answers agree with the database (every purge landed).
    def cache_agrees() -> bool:
        for product_id, units in stock.items():
            status, _, raw = http("GET", f"{client.base}/products/{product_id}")
            if status != 200 or json.loads(raw)["stock"] != units:
                return False
        return True

    wait_until(cache_agrees, timeout=15, every=0.5, what="cached products agree with the DB")
    return {
        "orders": dict(Counter(o["status"] for o in orders.values())),
        "units_ordered": sum(in_orders.values()),
    }
