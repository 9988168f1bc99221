"""GATEWAY as one typed object: defaults, checks and rates parsed once (gateway_project.conf)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.config import environment_of
from gateway_project.conf import GatewaySettings, gateway_settings
from gateway_project.tests.conftest import gateway_settings as overridden


def test_a_bad_rate_of_the_gateway_names_its_own_variable(monkeypatch):
    monkeypatch.setenv("GATEWAY_RATE_USER", "lots")
    with pytest.raises(ImproperlyConfigured, match=r"^GATEWAY_RATE_USER: not a rate"):
        GatewaySettings.from_mapping(environment_of(GatewaySettings))


def test_gateway_rates_given_in_part_keep_the_other_defaults():
    parsed = GatewaySettings.from_mapping({"RATES": {"anon": "2/min"}})
    assert parsed.RATES == {"anon": (2, 60), "user": (1000, 60), "auth": (10, 60)}


def test_rates_are_parsed_once_not_per_request():
    with overridden(RATES={"anon": "5/min", "user": "7/h", "auth": "1/s"}):
        assert gateway_settings.RATES == {"anon": (5, 60), "user": (7, 3600), "auth": (1, 1)}
