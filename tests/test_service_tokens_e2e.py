"""Per-caller service tokens between real processes: orders reserves with its own token;
another caller's token, or the shared one, opens nothing there."""

from __future__ import annotations

import secrets
from http import HTTPStatus

import pytest

from common.topology import SERVICES, UPSTREAMS
from devtools.harness import json_call, mint_access_token, new_product, start_stack

pytestmark = pytest.mark.e2e


def test_each_caller_opens_only_what_it_needs(tmp_path):
    tokens = {name: secrets.token_urlsafe(24) for name in ("orders", "gateway", "products")}
    pairs = ",".join(f"{name}={token}" for name, token in tokens.items())
    stack = start_stack(tmp_path, ["products", "orders"], env={"SERVICE_TOKENS": pairs})
    try:
        products = stack["products"].url
        product = new_product(stack, stock=5)

        buyer = mint_access_token(stack, user_id=4)
        placed = json_call(
            "POST",
            f"{stack['orders'].url}/orders",
            {"items": [{"product_id": product["id"], "quantity": 1}]},
            token=buyer,
        )
        assert placed[0] == HTTPStatus.CREATED, placed[2]
        assert placed[2]["status"] == "confirmed"

        reservation = {
            "order_ref": "stolen",
            "items": [{"product_id": product["id"], "quantity": 1}],
        }
        # A caller the endpoint does not accept: 403. A token that is no caller's (the
        # shared one, once each project has its own, or a forged one): 401.
        for token, expected in [
            (tokens["gateway"], HTTPStatus.FORBIDDEN),
            (stack.base_env["SERVICE_TOKEN"], HTTPStatus.UNAUTHORIZED),
            ("forged", HTTPStatus.UNAUTHORIZED),
        ]:
            status, _, problem = json_call(
                "POST",
                f"{products}/internal/reservations",
                reservation,
                headers={"X-Service-Token": token},
            )
            assert status == expected, problem
    finally:
        stack.stop()


def test_each_caller_registers_and_deregisters_only_its_own_services_instances(tmp_path):
    """Every caller the code knows (and one it does not) and every service, both ways, at a
    real gateway: only the service's own token changes its instances (403 otherwise)."""
    callers = (*SERVICES, "monitoring")
    tokens = {name: secrets.token_urlsafe(24) for name in callers}
    pairs = ",".join(f"{name}={token}" for name, token in tokens.items())
    stack = start_stack(tmp_path, ["gateway"], env={"SERVICE_TOKENS": pairs})
    registry = f"{stack['gateway'].url}/internal/registry/instances"
    try:
        for n, service in enumerate(UPSTREAMS):
            url = f"http://127.0.0.1:{19000 + n}"
            for caller in callers:
                body = {"service": service, "url": url, "instance_id": f"by-{caller}"}
                status, _, answer = json_call(
                    "POST", registry, body, headers={"X-Service-Token": tokens[caller]}
                )
                expected = HTTPStatus.CREATED if caller == service else HTTPStatus.FORBIDDEN
                assert status == expected, (caller, service, answer)
            own = {"X-Service-Token": tokens[service]}
            body = {"service": service, "url": url, "instance_id": "target"}
            assert json_call("POST", registry, body, headers=own)[0] == HTTPStatus.CREATED
            for caller in callers:
                if caller == service:
                    continue
                status, _, answer = json_call(
                    "DELETE",
                    f"{registry}/{service}/target",
                    headers={"X-Service-Token": tokens[caller]},
                )
                assert status == HTTPStatus.FORBIDDEN, (caller, service, answer)
            gone = json_call("DELETE", f"{registry}/{service}/target", headers=own)
            assert gone[0] == HTTPStatus.NO_CONTENT
    finally:
        stack.stop()


def test_every_internal_path_names_the_callers_it_accepts():
    """A new internal endpoint needs a row in common.identity.service_callers.SERVICE_CALLERS,
    else no caller
    may reach it: this names the one forgotten."""
    import re

    from common.identity.service_callers import callers_for
    from devtools.harness import REPO_ROOT

    paths = {
        "/" + match.split("<", 1)[0].rstrip("/")
        for urls in REPO_ROOT.glob("*/**/urls.py")
        if ".venv" not in urls.parts
        for match in re.findall(r"""["'](internal/[^"']*)["']""", urls.read_text())
    }
    assert len(paths) >= 5
    assert {path for path in paths if not callers_for(path)} == set()
