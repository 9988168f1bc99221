from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from common.topology import UPSTREAMS
from gateway_project.tests.fake_upstream import FakeUpstream


@pytest.fixture(scope="session")
def fake_services() -> dict[str, FakeUpstream]:
    servers = {name: FakeUpstream(name) for name in UPSTREAMS}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def upstreams(fake_services: dict[str, FakeUpstream]) -> dict[str, FakeUpstream]:
    """Every service is a fake answering with a JSON echo; the gateway points at them."""
    for server in fake_services.values():
        server.received.clear()
        server.responder = server.echo
    urls = {name: server.url for name, server in fake_services.items()}
    with override_settings(COMMON={**settings.COMMON, "SERVICE_URLS": urls}):
        yield fake_services


@pytest.fixture(autouse=True)
def no_health_polls(settings) -> None:
    """No background /ready polls unless a test asks. (Each test starts with empty
    rate-limit windows, no cached tokens or health, closed breakers and an empty registry:
    common.testing.reset_state.)"""
    settings.GATEWAY = {**settings.GATEWAY, "HEALTH_INTERVAL": 0}


def gateway_settings(**changes: object) -> override_settings:
    """override_settings for some GATEWAY keys, keeping the rest."""
    return override_settings(GATEWAY={**settings.GATEWAY, **changes})
