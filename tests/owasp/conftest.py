"""OWASP API Security Top 10 (2023): one stack of real processes for every module here.

The gateway trusts X-Forwarded-For from loopback in this stack, so each test can act
from its own client address and the per-IP limits of one test never meet another's.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus

import pytest

from devtools.harness import Stack, json_call, mint_access_token, start_stack

PASSWORD = "an owasp test passphrase 2023"
LIMITS = {
    "GATEWAY_TRUSTED_PROXIES": "127.0.0.1/32",
    "GATEWAY_RATE_AUTH": "40/min",
    "USERS_RATE_LOGIN": "5/min",
    "USERS_RATE_LOGIN_USER": "12/h",
    "USERS_RATE_PASSWORD_CHANGE": "3/15m",
    "ADMIN_RATE_LOGIN": "4/min",
}
_addresses = (f"198.18.{n // 250}.{n % 250 + 1}" for n in itertools.count())


@dataclass
class Api:
    """Calls through the gateway (or straight to a service) from one client address."""

    stack: Stack
    ip: str

    def url(self, service: str = "gateway") -> str:
        return self.stack[service].url

    def call(self, method, path, body=None, *, token="", service="gateway", ip=None, **kw):
        headers = {"X-Forwarded-For": ip or self.ip, **kw.pop("headers", {})}
        return json_call(
            method, f"{self.url(service)}{path}", body, token=token, headers=headers, **kw
        )

    def new_user(self, prefix: str = "u") -> tuple[str, dict]:
        """A registered account (its username) and a fresh token pair for it."""
        username = f"{prefix}-{uuid.uuid4().hex[:8]}"
        status, _, body = self.call(
            "POST", "/users/register", {"username": username, "password": PASSWORD}
        )
        assert status == HTTPStatus.CREATED, body
        return username, self.login(username)

    def login(self, username: str, password: str = PASSWORD) -> dict:
        status, _, tokens = self.call(
            "POST", "/users/login", {"username": username, "password": password}
        )
        assert status == HTTPStatus.OK, tokens
        return tokens

    def staff_token(self) -> str:
        return mint_access_token(self.stack, user_id=900_000, is_staff=True, username="ops")

    def user_token(self, user_id: int) -> str:
        return mint_access_token(self.stack, user_id=user_id)

    def new_product(self, *, stock: int = 10, price: str = "5.00") -> dict:
        sku = f"OW-{secrets.token_hex(5)}"
        body = {"sku": sku, "name": f"Thing {sku}", "price": price, "stock": stock}
        status, _, product = self.call("POST", "/products", body, token=self.staff_token())
        assert status == HTTPStatus.CREATED, product
        return product


@pytest.fixture(scope="package")
def owasp_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("owasp"), env=LIMITS)
    yield running
    running.stop()


@pytest.fixture
def api_client(owasp_stack: Stack) -> Api:
    """A client from an address no other test uses."""
    return Api(owasp_stack, next(_addresses))
