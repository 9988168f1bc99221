"""Whose rate-limit bucket a client lands in: IPv6 by network, IPv4-mapped as IPv4."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.conf import settings

from gateway_project.tests.conftest import gateway_settings
from gateway_project.transport.forwarding import client_ip_for, rate_limit_bucket


def _rates(**changes: str) -> dict[str, str]:
    return {**settings.GATEWAY["RATES"], **changes}


@pytest.mark.parametrize(
    ("address", "prefix", "bucket"),
    [
        ("192.0.2.7", 64, "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2:aaaa::1", 48, "2001:db8:1::/48"),
        ("2001:db8:1:2:aaaa::1", 128, "2001:db8:1:2:aaaa::1"),
        ("::ffff:192.0.2.7", 64, "192.0.2.7"),
        ("not-an-address", 64, "not-an-address"),
    ],
)
def test_rate_limit_bucket(address, prefix, bucket):
    with gateway_settings(IPV6_PREFIX=prefix):
        assert rate_limit_bucket(address) == bucket


def test_an_ipv4_mapped_peer_is_its_ipv4_address(rf):
    request = rf.get("/products", REMOTE_ADDR="::ffff:198.51.100.4")
    assert client_ip_for(request) == "198.51.100.4"


def test_clients_of_one_ipv6_64_share_a_limit(api_client, upstreams):
    with gateway_settings(RATES=_rates(anon="2/min")):
        first = api_client.get("/products", REMOTE_ADDR="2001:db8:0:1::1")
        second = api_client.get("/products", REMOTE_ADDR="2001:db8:0:1:ffff::2")
        third = api_client.get("/products", REMOTE_ADDR="2001:db8:0:1::3")
        other_network = api_client.get("/products", REMOTE_ADDR="2001:db8:0:2::1")

    assert [first.status_code, second.status_code] == [HTTPStatus.OK, HTTPStatus.OK]
    assert third.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other_network.status_code == HTTPStatus.OK


def test_an_ipv4_mapped_client_shares_the_ipv4_clients_limit(api_client, upstreams):
    with gateway_settings(RATES=_rates(anon="1/min")):
        first = api_client.get("/products", REMOTE_ADDR="192.0.2.9")
        mapped = api_client.get("/products", REMOTE_ADDR="::ffff:192.0.2.9")

    assert first.status_code == HTTPStatus.OK
    assert mapped.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_an_ipv6_client_behind_a_trusted_proxy_is_bucketed_by_its_network(api_client, upstreams):
    with gateway_settings(RATES=_rates(anon="1/min"), TRUSTED_PROXIES=["10.0.0.0/8"]):
        first = api_client.get(
            "/products", REMOTE_ADDR="10.0.0.2", headers={"X-Forwarded-For": "2001:db8:5::1"}
        )
        second = api_client.get(
            "/products", REMOTE_ADDR="10.0.0.2", headers={"X-Forwarded-For": "2001:db8:5::2"}
        )

    assert first.status_code == HTTPStatus.OK
    assert second.status_code == HTTPStatus.TOO_MANY_REQUESTS
