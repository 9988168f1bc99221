"""Instances that register themselves, instances from DNS, and the staff status endpoint."""

from __future__ import annotations

import json
import threading
from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import override_settings

from common.testing import bearer, wait_until
from common.topology import SERVICES, UPSTREAMS
from gateway_project.tests.conftest import gateway_settings
from gateway_project.upstreams.discovery import upstreams
from gateway_project.upstreams.registry import host_allowed

REGISTRY = "/internal/registry/instances"


def service_token() -> dict[str, str]:
    return {"X-Service-Token": settings.COMMON["SERVICE_TOKEN"]}


def register(api_client, url: str, **extra: str):
    body = {"service": "products", "url": url, **extra}
    return api_client.post(REGISTRY, body, format="json", headers=service_token())


def instance_urls(service: str) -> list[str]:
    group = upstreams()
    group.refresh()
    return [instance.url for instance in group.pools[service].members()]


def test_registration_needs_the_service_token(api_client):
    response = api_client.post(
        REGISTRY, {"service": "products", "url": "http://127.0.0.1:9"}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254:80",  # cloud metadata
        "http://10.1.2.3:8002",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1:8002",
        "http://127.0.0.1:8002/admin",
        "gopher://127.0.0.1:70",
    ],
)
def test_registration_refuses_urls_outside_the_allowed_hosts(api_client, url):
    response = register(api_client, url)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "url" in json.loads(response.content)["errors"]


def test_allowed_hosts_take_names_addresses_and_networks():
    allowed = ["localhost", "::1", "10.42.0.0/16"]

    assert host_allowed("LOCALHOST", allowed)
    assert host_allowed("10.42.7.9", allowed)
    assert not host_allowed("10.43.0.1", allowed)
    assert not host_allowed("localhost.evil.example", allowed)


def test_the_registry_is_not_reachable_through_the_public_routes(api_client):
    for path in ("/products/internal/registry/instances", "/users/internal/registry/instances"):
        response = api_client.post(path, {}, format="json", headers=service_token())
        assert response.status_code in (HTTPStatus.NOT_FOUND, HTTPStatus.METHOD_NOT_ALLOWED)


def test_a_registered_instance_takes_traffic_and_a_heartbeat_keeps_it(api_client, upstreams):
    fake = upstreams["products"]
    urls = {**settings.COMMON["SERVICE_URLS"], "products": ""}
    with override_settings(COMMON={**settings.COMMON, "SERVICE_URLS": urls}):
        first = register(api_client, fake.url, instance_id="products-1")
        again = register(api_client, fake.url, instance_id="products-1")
        assert instance_urls("products") == [fake.url]
        response = api_client.get("/products/7")

    assert first.status_code == HTTPStatus.CREATED
    assert again.status_code == HTTPStatus.OK
    assert response.status_code == HTTPStatus.OK
    assert fake.received[-1].path == "/products/7"


def test_an_instance_whose_heartbeats_stop_drops_out_after_the_ttl(api_client, upstreams):
    with gateway_settings(REGISTRY_TTL=0.5):
        register(api_client, "http://127.0.0.1:8999")
        assert "http://127.0.0.1:8999" in instance_urls("products")
        wait_until(lambda: "http://127.0.0.1:8999" not in instance_urls("products"))


def test_services_status_drops_an_instance_after_the_ttl_in_a_worker_that_proxied_nothing(
    api_client, upstreams
):
    """A gateway worker that has served no proxied request yet (its heartbeat and status
    calls only) reads the registry for the status too: a killed instance is gone from
    `/gateway/services` once its TTL is over, not when a heartbeat next reaches that worker."""
    staff = bearer(user_id=1, is_staff=True)
    with gateway_settings(REGISTRY_TTL=0.5):
        register(api_client, "http://127.0.0.1:8996", instance_id="killed")
        listed = api_client.get("/gateway/services", headers=staff).json()["services"]

        def urls(services: list[dict]) -> set[str]:
            (products,) = [entry for entry in services if entry["name"] == "products"]
            return {instance["url"] for instance in products["instances"]}

        def status_without_it() -> list[dict] | None:
            services = api_client.get("/gateway/services", headers=staff).json()["services"]
            return None if "http://127.0.0.1:8996" in urls(services) else services

        after = wait_until(status_without_it, every=0.1)

    assert "http://127.0.0.1:8996" in urls(listed)
    assert "http://127.0.0.1:8996" not in urls(after)


def test_deregistration_removes_the_instance_at_once(api_client, upstreams):
    register(api_client, "http://127.0.0.1:8998", instance_id="gone-1")

    response = api_client.delete(f"{REGISTRY}/products/gone-1", headers=service_token())
    missing = api_client.delete(f"{REGISTRY}/products/gone-1", headers=service_token())

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert "http://127.0.0.1:8998" not in instance_urls("products")


# Every caller identity the code knows (common.topology), and one it does not name.
CALLERS = (*SERVICES, "monitoring")
CALLER_TOKENS = [f"{name}={name}-token" for name in CALLERS]


def caller_token(name: str) -> dict[str, str]:
    return {"X-Service-Token": f"{name}-token"}


def per_caller_tokens() -> override_settings:
    return override_settings(COMMON={**settings.COMMON, "SERVICE_TOKENS": CALLER_TOKENS})


@pytest.mark.parametrize("service", UPSTREAMS)
@pytest.mark.parametrize("caller", CALLERS)
def test_a_caller_registers_only_its_own_services_instances(api_client, upstreams, caller, service):
    body = {"service": service, "url": "http://127.0.0.1:8996", "instance_id": "scoped-1"}
    with per_caller_tokens():
        response = api_client.post(REGISTRY, body, format="json", headers=caller_token(caller))
        registered = "http://127.0.0.1:8996" in instance_urls(service)

    if caller == service:
        assert response.status_code == HTTPStatus.CREATED
        assert registered
    else:
        assert response.status_code == HTTPStatus.FORBIDDEN, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert service in response.json()["detail"]
        assert not registered


@pytest.mark.parametrize("service", UPSTREAMS)
@pytest.mark.parametrize("caller", CALLERS)
def test_a_caller_deregisters_only_its_own_services_instances(
    api_client, upstreams, caller, service
):
    body = {"service": service, "url": "http://127.0.0.1:8995", "instance_id": "scoped-2"}
    with per_caller_tokens():
        owner = api_client.post(REGISTRY, body, format="json", headers=caller_token(service))
        response = api_client.delete(f"{REGISTRY}/{service}/scoped-2", headers=caller_token(caller))
        still_there = "http://127.0.0.1:8995" in instance_urls(service)

    assert owner.status_code == HTTPStatus.CREATED
    if caller == service:
        assert response.status_code == HTTPStatus.NO_CONTENT
        assert not still_there
    else:
        assert response.status_code == HTTPStatus.FORBIDDEN, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert still_there


def test_a_forged_token_is_401_and_the_shared_token_is_every_caller(api_client, upstreams):
    """The one shared SERVICE_TOKEN cannot tell callers apart: it registers any service
    (docs/security.md says so); once SERVICE_TOKENS is set it opens nothing."""
    body = {"service": "users", "url": "http://127.0.0.1:8994"}
    forged = api_client.post(REGISTRY, body, format="json", headers={"X-Service-Token": "x"})
    shared = api_client.post(REGISTRY, body, format="json", headers=service_token())
    with per_caller_tokens():
        refused = api_client.post(REGISTRY, body, format="json", headers=service_token())

    assert forged.status_code == HTTPStatus.UNAUTHORIZED
    assert shared.status_code == HTTPStatus.CREATED
    assert refused.status_code == HTTPStatus.UNAUTHORIZED


def test_registering_with_the_shared_token_in_production_warns_once(
    api_client, upstreams, settings, caplog
):

    settings.APP_ENV = "production"
    for port in (8993, 8992):
        register(api_client, f"http://127.0.0.1:{port}")
    with per_caller_tokens():
        own = {"service": "products", "url": "http://127.0.0.1:8991"}
        api_client.post(REGISTRY, own, format="json", headers=caller_token("products"))

    warnings = [r for r in caplog.records if "shared SERVICE_TOKEN" in r.getMessage()]
    assert len(warnings) == 1


def test_services_status_is_for_staff_only(api_client, upstreams):
    assert api_client.get("/gateway/services").status_code == HTTPStatus.UNAUTHORIZED
    user = api_client.get("/gateway/services", headers=bearer(user_id=3))
    assert user.status_code == HTTPStatus.FORBIDDEN


def test_services_status_shows_every_instance(api_client, upstreams):
    register(api_client, "http://127.0.0.1:8997", instance_id="extra")
    api_client.get("/products/1")

    response = api_client.get("/gateway/services", headers=bearer(user_id=1, is_staff=True))

    services = {entry["name"]: entry for entry in response.json()["services"]}
    assert set(services) == {"users", "products", "orders"}
    products = {i["url"]: i for i in services["products"]["instances"]}
    static = products[upstreams["products"].url]
    assert static["source"] == "static"
    assert static["state"] == "healthy"
    assert static["breaker"] == "closed"
    assert static["in_flight"] == 0
    assert static["error_rate"] == 0.0
    assert static["p50_ms"] > 0
    registered = products["http://127.0.0.1:8997"]
    assert registered["source"] == "registry"
    assert registered["last_heartbeat"] is not None


class DnsServer:
    """A tiny authoritative DNS server on loopback (dnslib) whose answers a test changes."""

    def __init__(self, ttl: int = 1) -> None:
        from dnslib import QTYPE, RR, A
        from dnslib.server import BaseResolver, DNSServer

        self.records: dict[str, list[str]] = {}
        server = self

        class Resolver(BaseResolver):
            def resolve(self, request, handler):
                reply = request.reply()
                name = str(request.q.qname).rstrip(".")
                if request.q.qtype == QTYPE.A:
                    for address in server.records.get(name, []):
                        reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=ttl))
                return reply

        self.server = DNSServer(Resolver(), port=0, address="127.0.0.1")
        self.server.start_thread()
        self.port = self.server.server.server_address[1]

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def dns_server():
    server = DnsServer(ttl=1)
    yield server
    server.stop()


def test_a_dns_name_gives_one_instance_per_address_and_follows_its_ttl(dns_server, upstreams):
    dns_server.records["products.test"] = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    urls = {**settings.COMMON["SERVICE_URLS"], "products": "dns+http://products.test:8002"}
    with (
        override_settings(COMMON={**settings.COMMON, "SERVICE_URLS": urls}),
        gateway_settings(DNS_NAMESERVERS=[f"127.0.0.1:{dns_server.port}"], DNS_MIN_TTL=1),
    ):
        before = instance_urls("products")
        dns_server.records["products.test"] = ["127.0.0.2", "127.0.0.4"]
        unchanged = instance_urls("products")  # the TTL has not run out yet
        after = wait_until(lambda: (urls := instance_urls("products")) != before and urls)
        sources = {i.source for i in upstreams_pool("products").members()}

    assert before == ["http://127.0.0.1:8002", "http://127.0.0.2:8002", "http://127.0.0.3:8002"]
    assert unchanged == before
    assert after == ["http://127.0.0.2:8002", "http://127.0.0.4:8002"]
    assert sources == {"dns"}


def upstreams_pool(service: str):
    return upstreams().pools[service]


def test_a_dns_name_serves_traffic(dns_server, upstreams):
    fake = upstreams["products"]
    port = fake.url.rsplit(":", 1)[1]
    dns_server.records["products.test"] = ["127.0.0.1"]
    urls = {**settings.COMMON["SERVICE_URLS"], "products": f"dns+http://products.test:{port}"}
    with (
        override_settings(COMMON={**settings.COMMON, "SERVICE_URLS": urls}),
        gateway_settings(DNS_NAMESERVERS=[f"127.0.0.1:{dns_server.port}"]),
    ):
        from rest_framework.test import APIClient

        response = APIClient().get("/products/3")

    assert response.status_code == HTTPStatus.OK
    assert fake.received[-1].path == "/products/3"


def test_concurrent_registrations_of_many_instances_all_count(api_client, upstreams):
    def one(n: int) -> None:
        register(api_client, f"http://127.0.0.1:{9100 + n}", instance_id=f"p{n}")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    registered = [u for u in instance_urls("products") if u.startswith("http://127.0.0.1:91")]
    assert len(registered) == 20


@pytest.mark.django_db
def test_the_gateway_admin_shows_every_instance(admin_client, upstreams):
    response = admin_client.get("/admin/gateway/services/")

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    for fake in upstreams.values():
        assert fake.url in page
    assert "closed" in page


@pytest.mark.django_db
def test_the_admin_services_page_is_behind_the_admin_login(api_client):
    response = api_client.get("/admin/gateway/services/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")
