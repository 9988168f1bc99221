"""GATEWAY as one typed object: defaults, checks and rates parsed once (gateway_project.conf)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.settings.env import environment_of
from gateway_project.conf import GatewaySettings, gateway_settings
from gateway_project.tests.conftest import gateway_settings as overridden


def test_a_bad_rate_of_the_gateway_names_its_own_variable(monkeypatch):
    monkeypatch.setenv("GATEWAY_RATE_USER", "lots")
    with pytest.raises(ImproperlyConfigured, match=r"^GATEWAY_RATE_USER: not a rate"):
        GatewaySettings.from_mapping(environment_of(GatewaySettings))


def test_gateway_rates_given_in_part_keep_the_other_defaults():
    parsed = GatewaySettings.from_mapping({"RATES": {"anon": "2/min"}})
    assert parsed.RATES == {
        "anon": (2, 60),
        "user": (1000, 60),
        "auth": (10, 60),
        "consumer": (600, 60),
    }


def test_rates_are_parsed_once_not_per_request():
    with overridden(RATES={"anon": "5/min", "user": "7/h", "auth": "1/s"}):
        assert gateway_settings.RATES == {
            "anon": (5, 60),
            "user": (7, 3600),
            "auth": (1, 1),
            "consumer": (600, 60),
        }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("least_requests", r"^GATEWAY_BALANCER: unknown balancer 'least_requests'"),
        ("round_robin,products=least_requests", r"^GATEWAY_BALANCER: unknown balancer"),
        ("round_robin,product=least_request", r"^GATEWAY_BALANCER: unknown service 'product'"),
    ],
)
def test_a_balancer_typo_stops_the_start(monkeypatch, value, message):
    monkeypatch.setenv("GATEWAY_BALANCER", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        GatewaySettings.from_mapping(environment_of(GatewaySettings))


def test_each_balancer_the_setting_accepts_is_a_strategy_class():
    from common.upstreams.balancers import STRATEGIES, Balancer
    from gateway_project.conf import BALANCERS

    assert sorted(STRATEGIES) == sorted(BALANCERS)
    assert all(issubclass(strategy, Balancer) for strategy in STRATEGIES.values())


def test_the_cache_lifetime_and_cors_origins_are_gateway_settings(monkeypatch):
    monkeypatch.setenv("GATEWAY_CACHE_SECONDS", "12")
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://app.example.com,https://b.example")
    parsed = GatewaySettings.from_mapping(environment_of(GatewaySettings))

    assert parsed.CACHE_SECONDS == 12
    assert parsed.CORS_ALLOWED_ORIGINS == ("https://app.example.com", "https://b.example")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_CACHE_SECONDS", "half a minute"),
        ("GATEWAY_CACHE_SECONDS", "-1"),
        ("CORS_ALLOWED_ORIGINS", "app.example.com"),
    ],
)
def test_a_bad_cache_lifetime_or_origin_names_its_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ImproperlyConfigured, match=rf"^{variable}: "):
        GatewaySettings.from_mapping(environment_of(GatewaySettings))
