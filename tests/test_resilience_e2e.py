"""Several real product instances behind real gateways: balancing, a killed instance, a
frozen one, breakers shared by two gateway processes through Redis, every instance down,
and self-registration with heartbeats."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path

import pytest

from common.testing import wait_until
from devtools.harness import (
    ServiceProcess,
    Stack,
    another_instance,
    free_port,
    http,
    json_call,
    mint_access_token,
    start_gateway,
    start_stack,
)

pytestmark = pytest.mark.e2e

FAST_BREAKERS = {
    "GATEWAY_BREAKER_FAILURES": "3",
    "GATEWAY_BREAKER_RESET_SECONDS": "2",
    "GATEWAY_EJECT_CONSECUTIVE": "3",
    "GATEWAY_EJECT_BASE_SECONDS": "1",
    "GATEWAY_HEALTH_INTERVAL": "1",
    "GATEWAY_CACHE_SECONDS": "0",  # every GET must reach an instance here
}
LIST = "/products?page_size=1"


def served(process: ServiceProcess, path: str = "GET /products") -> int:
    """Requests for PATH an instance logged (its JSON access log)."""
    try:
        return process.log_path.read_text(errors="replace").count(f'"message": "{path}')
    except OSError:
        return 0


def kill(process: ServiceProcess, sig: int = signal.SIGKILL) -> None:
    os.killpg(process.process.pid, sig)


def services_status(gateway: ServiceProcess, stack: Stack) -> dict[str, dict]:
    token = mint_access_token(stack, user_id=1, is_staff=True)
    status, _, body = json_call("GET", f"{gateway.url}/gateway/services", token=token)
    assert status == HTTPStatus.OK, body
    return {
        instance["url"]: instance
        for entry in body["services"]
        if entry["name"] == "products"
        for instance in entry["instances"]
    }


@pytest.fixture
def two_products(tmp_path: Path) -> Iterator[Stack]:
    stack = start_stack(tmp_path, ["products"])
    try:
        another_instance(stack, "products", "products-2")
        yield stack
    finally:
        stack.stop()


def test_two_instances_share_the_load_survive_a_kill_and_take_traffic_again(two_products):
    stack = two_products
    first, second = stack["products"], stack["products-2"]
    gateway = start_gateway(
        stack, PRODUCTS_SERVICE_URL=f"{first.url},{second.url}", **FAST_BREAKERS
    )
    staff = mint_access_token(stack, user_id=1, is_staff=True)

    # given: both instances up, requests alternate between them
    for _ in range(10):
        assert http("GET", f"{gateway.url}{LIST}")[0] == HTTPStatus.OK
    assert served(first) >= 3
    assert served(second) >= 3

    # when: one is killed, GETs keep answering (a refused connect is retried elsewhere)
    kill(second)
    second.process.wait(timeout=10)
    statuses = [http("GET", f"{gateway.url}{LIST}")[0] for _ in range(20)]
    assert statuses == [HTTPStatus.OK] * 20
    # and POSTs are never sent twice: each created once, at most one 503
    created, unavailable = [], 0
    for n in range(6):
        body = {"sku": f"SCALE-{n}", "name": f"Scaled {n}", "price": "1.00", "stock": 1}
        status, _, answer = json_call("POST", f"{gateway.url}/products", body, token=staff)
        if status == HTTPStatus.CREATED:
            created.append(answer["id"])
        else:
            assert status == HTTPStatus.SERVICE_UNAVAILABLE, answer
            unavailable += 1
    assert unavailable <= 1
    assert len(set(created)) == len(created) == 6 - unavailable
    _, _, listing = json_call("GET", f"{first.url}/products?page_size=100")
    skus = [p["sku"] for p in listing["results"] if p["sku"].startswith("SCALE-")]
    assert len(skus) == len(set(skus)) == len(created)
    # then: the gateway shows the dead instance out of the rotation
    status = services_status(gateway, stack)
    assert status[second.url]["breaker"] in ("open", "half_open") or (
        status[second.url]["state"] == "ejected"
    )
    assert status[first.url]["breaker"] == "closed"

    # when: it comes back on the same port, it takes traffic again within a reset timeout
    second.start()
    before = served(second)

    def second_served() -> bool:
        assert http("GET", f"{gateway.url}{LIST}")[0] == HTTPStatus.OK
        return served(second) > before

    wait_until(second_served, timeout=15, every=0.1, what="traffic to the restarted instance")


def test_a_frozen_instance_trips_breakers_shared_by_two_gateways_with_one_trial(
    tmp_path, private_redis
):
    stack = start_stack(tmp_path, ["products"])
    try:
        product = stack["products"]
        settings = {
            "REDIS_URL": private_redis.url,
            "WEB_CONCURRENCY": "1",
            "HTTP_READ_TIMEOUT": "1",
            "PRODUCTS_SERVICE_URL": product.url,
            "GATEWAY_BREAKER_FAILURES": "3",
            "GATEWAY_BREAKER_RESET_SECONDS": "4",
            "GATEWAY_HEALTH_INTERVAL": "0",  # the breaker alone is under test here
            "GATEWAY_RATE_ANON": "10000/min",
            "GATEWAY_CACHE_SECONDS": "0",
        }
        one = start_gateway(stack, "gateway-1", **settings)
        two = start_gateway(stack, "gateway-2", **settings)
        assert http("GET", f"{one.url}{LIST}")[0] == HTTPStatus.OK

        # given: the instance freezes; three calls wait out the read timeout
        kill(product, signal.SIGSTOP)
        timed_out = [http("GET", f"{one.url}{LIST}")[0] for _ in range(3)]
        assert timed_out == [HTTPStatus.GATEWAY_TIMEOUT] * 3
        opened_at = time.monotonic()

        # then: both gateways fail fast (the other learns it from Redis within a second)
        time.sleep(1.2)
        for gateway in (one, two):
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                status, headers, _ = http("GET", f"{gateway.url}{LIST}")
                timings.append(time.perf_counter() - started)
                assert status == HTTPStatus.SERVICE_UNAVAILABLE
                assert int(headers["Retry-After"]) >= 1
            # The median: one call on a busy 2-core machine can be late for other reasons.
            assert sorted(timings)[2] < 0.1, timings

        # when: the reset timeout passes, 20 callers at once on both gateways
        time.sleep(max(0.0, opened_at + 4.3 - time.monotonic()))
        urls = [f"{gateway.url}{LIST}" for gateway in (one, two) for _ in range(10)]
        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(lambda url: http("GET", url, timeout=5)[0], urls))
        # then: exactly one trial went to the (still frozen) instance and timed out
        assert sorted(statuses).count(HTTPStatus.GATEWAY_TIMEOUT) == 1, statuses
        assert statuses.count(HTTPStatus.SERVICE_UNAVAILABLE) == 19

        # when: it thaws, the next trial closes the breaker for both gateways
        kill(product, signal.SIGCONT)
        wait_until(lambda: http("GET", f"{one.url}{LIST}")[0] == HTTPStatus.OK, every=0.2)
        assert http("GET", f"{one.url}{LIST}")[0] == HTTPStatus.OK
        assert http("GET", f"{two.url}{LIST}")[0] == HTTPStatus.OK

        # and: with Redis gone, both keep proxying (breakers fall back to memory)
        private_redis.kill()
        assert [http("GET", f"{g.url}{LIST}")[0] for g in (one, two) * 3] == [200] * 6
    finally:
        if stack["products"].process.poll() is None:
            kill(stack["products"], signal.SIGCONT)
        stack.stop()


def test_every_instance_down_is_503_within_the_connect_timeout_then_fast(tmp_path):
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    env = {"PRODUCTS_SERVICE_URL": ",".join(dead), "HTTP_CONNECT_TIMEOUT": "10"}
    stack = start_stack(tmp_path, ["gateway"], env=env)
    try:
        gateway = stack["gateway"]
        timings = []
        for _ in range(12):  # the default threshold: 5 failures per instance
            started = time.perf_counter()
            status, headers, body = http("GET", f"{gateway.url}{LIST}")
            timings.append(time.perf_counter() - started)
            assert status == HTTPStatus.SERVICE_UNAVAILABLE, body
            assert headers["Content-Type"] == "application/problem+json"
            assert int(headers["Retry-After"]) >= 1
        # The behaviour is the bound: refused connections answer at once, not after the
        # connect timeout (10 s); 3 s leaves a busy machine room.
        assert max(timings) < 3.0
        assert b"circuit-open" in body  # the last one: the open breakers answered
    finally:
        stack.stop()


def test_an_instance_registers_itself_and_drops_out_when_its_heartbeats_stop(tmp_path):
    gateway_port = free_port()
    stack = start_stack(
        tmp_path,
        ["products"],
        env={
            "GATEWAY_INTERNAL_URL": f"http://127.0.0.1:{gateway_port}",
            "REGISTRY_HEARTBEAT_SECONDS": "0.5",
        },
    )
    try:
        product = stack["products"]
        extra = another_instance(
            stack, "products", "products-2", SERVICE_INSTANCE_URL="", HOST="127.0.0.1"
        )
        gateway = start_gateway(
            stack, port=gateway_port, PRODUCTS_SERVICE_URL=product.url, GATEWAY_REGISTRY_TTL="2"
        )

        def both_registered() -> dict | None:
            status = services_status(gateway, stack)
            registered = extra.url in status and "registry" in status[product.url]["source"]
            return status if registered else None

        status = wait_until(both_registered, timeout=20, every=0.3)
        assert status[extra.url]["source"] == "registry"
        assert status[product.url]["source"] == "registry+static"
        assert status[extra.url]["last_heartbeat"] is not None

        # a wrong token, a host outside the allowed ones
        body = {"service": "products", "url": "http://127.0.0.1:1"}
        registry = f"{gateway.url}/internal/registry/instances"
        assert json_call("POST", registry, body)[0] == HTTPStatus.UNAUTHORIZED
        token = {"X-Service-Token": stack.base_env["SERVICE_TOKEN"]}
        outside = {"service": "products", "url": "http://192.0.2.10:8002"}
        assert json_call("POST", registry, outside, headers=token)[0] == HTTPStatus.BAD_REQUEST

        # killed without a goodbye: gone after the TTL
        kill(extra)
        extra.process.wait(timeout=10)
        wait_until(lambda: extra.url not in services_status(gateway, stack), every=0.5)
    finally:
        stack.stop()
