"""API keys across two gateway replicas sharing Redis and one database: real processes.

A consumer with a quota of 100 a day sends 300 requests at once, split across both
gateways: exactly 100 get through. A key rotates: the old and the new both work at
both gateways until the old one is revoked, which stops it at both within a second."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest

from devtools.harness import http, json_call, mint_access_token, start_gateway, start_stack

pytestmark = pytest.mark.e2e

QUOTA, SENT = 100, 300


def test_quota_rotation_and_revocation_hold_across_two_gateways(tmp_path, private_redis):
    stack = start_stack(tmp_path, ["orders"], env={"REDIS_URL": private_redis.url})
    try:
        shared = {
            "REDIS_URL": private_redis.url,
            "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.sqlite3'}",
            "GATEWAY_RATE_CONSUMER": "100000/min",
        }
        gateways = [start_gateway(stack, f"gateway-{n}", **shared) for n in (1, 2)]
        owner = mint_access_token(stack, user_id=41)
        staff = mint_access_token(stack, user_id=1, is_staff=True)

        def portal(method: str, path: str, body: object = None, token: str = owner) -> dict:
            status, _, answer = json_call(method, f"{gateways[0].url}{path}", body, token=token)
            assert status in (HTTPStatus.OK, HTTPStatus.CREATED), answer
            return answer

        # given: staff give the owner's consumer a quota; the owner makes its key
        limited = portal(
            "POST", "/gateway/consumers", {"name": "partner", "owner_id": 41, "quota": QUOTA}, staff
        )
        key = portal(
            "POST", f"/gateway/consumers/{limited['id']}/keys", {"scopes": ["orders:read"]}
        )

        # when: 300 requests at once, half at each gateway
        def call(n: int) -> int:
            url = f"{gateways[n % 2].url}/orders"
            return http("GET", url, headers={"X-API-Key": key["key"]}, timeout=60)[0]

        with ThreadPoolExecutor(30) as pool:
            statuses = Counter(pool.map(call, range(SENT)))

        # then: exactly the quota got through
        assert statuses == {HTTPStatus.OK: QUOTA, HTTPStatus.TOO_MANY_REQUESTS: SENT - QUOTA}

        # given: a consumer rotating its key
        rotating = portal("POST", "/gateway/consumers", {"name": "rotating"})
        keys_path = f"/gateway/consumers/{rotating['id']}/keys"
        old = portal("POST", keys_path, {"scopes": ["orders:read"]})
        new = portal("POST", keys_path, {"scopes": ["orders:read"]})

        def works(raw: str) -> list[int]:
            return [
                http("GET", f"{g.url}/orders", headers={"Authorization": f"ApiKey {raw}"})[0]
                for g in gateways
            ]

        assert works(old["key"]) == [HTTPStatus.OK] * 2
        assert works(new["key"]) == [HTTPStatus.OK] * 2

        # when: the old key is revoked at one gateway
        portal("POST", f"{keys_path}/{old['id']}/revoke")
        revoked_at = time.monotonic()

        # then: both refuse it within a second; the new one goes on working
        stopped = {}
        while len(stopped) < 2 and time.monotonic() - revoked_at < 5:
            for index, status in enumerate(works(old["key"])):
                if status == HTTPStatus.UNAUTHORIZED and index not in stopped:
                    stopped[index] = time.monotonic() - revoked_at
        assert sorted(stopped) == [0, 1], stopped
        assert max(stopped.values()) < 1.0, stopped
        assert works(new["key"]) == [HTTPStatus.OK] * 2
    finally:
        stack.stop()
