"""Every project, started by the container entrypoint, answers its operational endpoints."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from common.topology import SERVICES
from devtools.harness import http

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("name", list(SERVICES))
def test_liveness_and_readiness(stack, name):
    service = stack[name]
    status, _, body = http("GET", f"{service.url}{SERVICES[name].liveness_path}")
    assert status == HTTPStatus.OK
    assert json.loads(body) == {"status": "ok", "service": name}
    status, _, body = http("GET", f"{service.url}/ready")
    assert status == HTTPStatus.OK
    ready = json.loads(body)
    assert ready["status"] == "ok"
    assert {k: v["status"] for k, v in ready["checks"].items()} == {"database": "up", "cache": "up"}
