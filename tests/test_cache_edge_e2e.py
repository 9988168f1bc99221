"""The response cache at its edges, between real processes: no client's Host reaches a
cached answer's links, a credential named in Connection is refused rather than dropped,
and a HEAD answered from the cache says the GET's length."""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest

from devtools.harness import Stack, http, mint_access_token, new_product, start_stack

pytestmark = pytest.mark.e2e

PUBLIC_ORIGIN = "https://api.example.test"
ATTACKER_HOSTS = ("localhost:6666", "evil.example", "localhost.:80")


@pytest.fixture(scope="module")
def edge_stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """Products behind a gateway that takes any Host (the development default,
    ALLOWED_HOSTS=*), with the public origin configured as production sets it."""
    stack = start_stack(
        tmp_path_factory.mktemp("edge"),
        ["products", "gateway"],
        env={"ALLOWED_HOSTS": "*", "PUBLIC_ORIGIN": PUBLIC_ORIGIN},
    )
    for _ in range(3):
        new_product(stack, stock=1)
    yield stack
    stack.stop()


def gateway_get(stack: Stack, path: str, headers: dict[str, str] | None = None) -> tuple:
    """GET with exactly these headers (urllib would replace Host and Connection)."""
    where = urlsplit(stack["gateway"].url)
    connection = HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        sent = {"Host": where.netloc, **(headers or {})}
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        raw = answer.read()
        return answer.status, answer.headers, json.loads(raw) if raw else None
    finally:
        connection.close()


@pytest.mark.parametrize("host", ATTACKER_HOSTS)
def test_no_host_makes_a_cached_answer_link_to_it(edge_stack, host):
    path = f"/products?page_size=1&probe={uuid.uuid4().hex}"

    attacker = gateway_get(edge_stack, path, {"Host": host})
    victim = gateway_get(edge_stack, path)

    assert attacker[0] == victim[0] == HTTPStatus.OK
    assert (attacker[1]["X-Cache"], victim[1]["X-Cache"]) == ("MISS", "HIT")
    for _, _, page in (attacker, victim):
        assert page["next"].startswith(f"{PUBLIC_ORIGIN}/products?"), page["next"]
        assert host.split(":")[0].rstrip(".") not in page["next"].split("?")[0]


def test_a_credential_named_in_connection_is_refused_not_dropped(edge_stack):
    staff = mint_access_token(edge_stack, user_id=1, is_staff=True)
    path = f"/products?page_size=1&probe={uuid.uuid4().hex}"
    sent = {"Authorization": f"Bearer {staff}"}

    for connection in ("Authorization", "keep-alive, authorization", "Cookie"):
        status, headers, body = gateway_get(edge_stack, path, {**sent, "Connection": connection})
        assert status == HTTPStatus.BAD_REQUEST, body
        assert headers["Content-Type"] == "application/problem+json"
        assert body["type"].endswith("hop-by-hop-credential")
    as_staff = gateway_get(edge_stack, path, sent)

    # Nothing was stored under the staff key for an answer made without the token.
    assert as_staff[0] == HTTPStatus.OK
    assert as_staff[1]["X-Cache"] != "HIT"


def test_a_head_answered_from_the_cache_says_the_gets_length(edge_stack):
    path = f"/products?page_size=2&probe={uuid.uuid4().hex}"
    url = f"{edge_stack['gateway'].url}{path}"

    status, get_headers, body = http("GET", url)
    head_status, head_headers, head_body = http("HEAD", url)

    assert status == head_status == HTTPStatus.OK
    assert head_headers["X-Cache"] == "HIT"
    assert head_body == b""
    assert int(head_headers["Content-Length"]) == len(body) == int(get_headers["Content-Length"])
