"""The response cache through the proxy, against fake services (real HTTP servers)."""

from __future__ import annotations

import hashlib
import json
import time
from http import HTTPStatus

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from prometheus_client import REGISTRY

from common.testing import bearer, wait_until
from gateway_project import response_cache
from gateway_project.response_cache.store import response_store
from gateway_project.tests.fake_upstream import Received, Reply

PUBLIC = [("Content-Type", "application/json"), ("Cache-Control", "public, max-age=30")]


def serve(upstream, *headers: tuple[str, str], status: int = 200, keys: str = "") -> None:
    """The fake service answers (headers: PUBLIC unless given) with a body naming how many
    calls it has had."""

    def reply(received: Received) -> Reply:
        sent = list(headers or PUBLIC)
        if keys:
            sent.append(("Surrogate-Key", keys))
        body = json.dumps({"call": len(upstream.received), "path": received.path}).encode()
        return Reply(status, body, sent)

    upstream.responder = reply


def calls(upstream) -> int:
    return len(upstream.received)


def test_the_second_identical_get_is_a_hit_that_never_reaches_the_service(api_client, upstreams):
    products = upstreams["products"]
    serve(products, *PUBLIC, ("X-Custom", "kept"), keys="product-7")

    first = api_client.get("/products/7?x=1")
    second = api_client.get("/products/7?x=1")

    assert first["X-Cache"] == "MISS"
    assert second["X-Cache"] == "HIT"
    assert calls(products) == 1
    assert second.status_code == HTTPStatus.OK
    assert second.content == first.content
    assert second["Content-Type"] == "application/json"
    assert second["Cache-Control"] == "public, max-age=30"
    assert second["X-Custom"] == "kept"
    assert 0 <= int(second["Age"]) <= 1
    # The service's surrogate keys are the gateway's business, never the client's.
    assert "Surrogate-Key" not in first
    assert "Surrogate-Key" not in second
    # Another query string is another resource.
    assert api_client.get("/products/7?x=2")["X-Cache"] == "MISS"
    assert calls(products) == 2


def test_head_is_answered_from_the_get_entry_without_a_body(api_client, upstreams):
    serve(upstreams["products"])
    api_client.get("/products/3")

    head = api_client.head("/products/3")

    assert head["X-Cache"] == "HIT"
    assert head.content == b""
    assert calls(upstreams["products"]) == 1


# What the product service sends (product_service/catalog/cache.py): kept by the gateway
# for Surrogate-Control's lifetime, revalidated by every cache past it.
REVALIDATED = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "public, no-cache"),
    ("Surrogate-Control", "max-age=30"),
    ("Vary", "Accept"),
]


def serve_versions(upstream, *headers: tuple[str, str], keys: str = "") -> dict:
    """The fake service answers with `state["body"]` and that body's ETag (as the product
    service does); change `state["body"]` to change the representation."""
    state = {"body": b'{"stock": 3}'}

    def reply(received: Received) -> Reply:
        body = state["body"]
        sent = [*(headers or REVALIDATED), ("ETag", etag_of(body))]
        if keys:
            sent.append(("Surrogate-Key", keys))
        return Reply(200, b"" if received.method == "HEAD" else body, sent)

    upstream.responder = reply
    return state


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:16]}"'


def test_a_matching_if_none_match_on_a_hit_is_a_304_with_the_200s_validators(api_client, upstreams):
    products = upstreams["products"]
    serve_versions(products, keys="product-7")
    first = api_client.get("/products/7")
    tag = first["ETag"]

    again = api_client.get("/products/7", headers={"If-None-Match": tag})

    assert first.status_code == HTTPStatus.OK
    assert first["X-Cache"] == "MISS"
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    assert again["X-Cache"] == "HIT"
    assert calls(products) == 1
    assert again.content == b""
    # RFC 9110 §15.4.5: what the 200 would have said about caching, no representation.
    assert again["ETag"] == tag
    assert again["Cache-Control"] == first["Cache-Control"] == "public, no-cache"
    assert again["Vary"] == first["Vary"]
    assert "Content-Length" not in again
    assert "Content-Type" not in again
    # The gateway's own directive never reaches a client, from a MISS or a HIT.
    for answer in (first, again):
        assert "Surrogate-Control" not in answer
        assert "Surrogate-Key" not in answer


def test_a_hit_and_a_miss_of_one_body_carry_one_etag(api_client, upstreams):
    serve_versions(upstreams["products"])

    miss = api_client.get("/products/1")
    hit = api_client.get("/products/1")

    assert [miss["X-Cache"], hit["X-Cache"]] == ["MISS", "HIT"]
    assert miss["ETag"] == hit["ETag"] == etag_of(miss.content)
    assert hit["Cache-Control"] == "public, no-cache"


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ("{tag}", 304),
        ("W/{tag}", 304),  # weak comparison
        ('"other", {tag}', 304),
        ("*", 304),
        ('"other"', 200),
        ("{weak}", 304),
        ("not-a-tag", 200),
    ],
    ids=["strong", "weak", "list", "star", "other", "weak-own", "malformed"],
)
def test_if_none_match_from_the_cache_per_rfc_9110(api_client, upstreams, if_none_match, status):
    serve_versions(upstreams["products"])
    tag = api_client.get("/products/1")["ETag"]
    sent = if_none_match.format(tag=tag, weak=f"W/{tag}")

    answer = api_client.get("/products/1", headers={"If-None-Match": sent})

    assert (answer.status_code, answer["X-Cache"]) == (status, "HIT")
    assert bool(answer.content) is (status == 200)
    assert calls(upstreams["products"]) == 1


def test_surrogate_control_never_reaches_a_client_on_any_route(api_client, upstreams):
    for name in ("products", "users"):
        serve_versions(upstreams[name])
    cached = api_client.get("/products/1")
    bypassed = api_client.get("/products/1", headers={"Cache-Control": "no-store"})
    uncached = api_client.get("/users/profile", headers=bearer(user_id=3))

    assert [a.status_code for a in (cached, bypassed, uncached)] == [200] * 3
    assert [a["X-Cache"] for a in (cached, bypassed)] == ["MISS", "BYPASS"]
    assert "X-Cache" not in uncached
    for answer in (cached, bypassed, uncached):
        assert "Surrogate-Control" not in answer
    stored = [name.lower() for name, _ in response_store_items()]
    assert "etag" in stored
    assert "surrogate-control" not in stored


def response_store_items() -> list[tuple[str, str]]:
    """The headers of the entry stored for anonymous GET /products/1."""
    from gateway_project.response_cache import policy
    from gateway_project.response_cache.entry import Entry

    found = response_store().lookup(policy.base_key("anon", "/products/1", ""), {"accept": ""})
    return Entry.loads(found.raw).headers if found.raw else []


def test_a_head_revalidates_against_the_get_entry(api_client, upstreams):
    serve_versions(upstreams["products"])
    get = api_client.get("/products/3")

    current = api_client.head("/products/3", headers={"If-None-Match": get["ETag"]})
    stale = api_client.head("/products/3", headers={"If-None-Match": '"old"'})

    assert (current.status_code, current["X-Cache"]) == (304, "HIT")
    assert current["ETag"] == get["ETag"]
    assert current.content == b""
    assert "Content-Length" not in current
    assert (stale.status_code, stale["X-Cache"]) == (200, "HIT")
    assert stale.content == b""
    assert stale["Content-Length"] == str(len(get.content))
    assert calls(upstreams["products"]) == 1


def test_after_a_purge_the_old_etag_gets_the_new_body_and_a_new_etag(api_client, upstreams):
    products = upstreams["products"]
    state = serve_versions(products, keys="product-7")
    old = api_client.get("/products/7")
    assert api_client.get("/products/7", headers={"If-None-Match": old["ETag"]}).status_code == 304

    state["body"] = b'{"stock": 2}'
    assert _purge(api_client, {"keys": ["product-7"]}).status_code == HTTPStatus.OK
    fresh = api_client.get("/products/7", headers={"If-None-Match": old["ETag"]})
    again = api_client.get("/products/7", headers={"If-None-Match": fresh["ETag"]})

    assert (fresh.status_code, fresh["X-Cache"]) == (200, "MISS")
    assert fresh.content == b'{"stock": 2}'
    assert fresh["ETag"] == etag_of(b'{"stock": 2}') != old["ETag"]
    assert (again.status_code, again["X-Cache"]) == (304, "HIT")
    assert calls(products) == 2


def test_a_revalidation_the_cache_cannot_answer_goes_to_the_service(api_client, upstreams):
    """A MISS: the service is asked (it is sent the client's If-None-Match); its 200 is
    stored, and the gateway answers 304 from it when it matches."""
    products = upstreams["products"]
    serve_versions(products)
    tag = etag_of(b'{"stock": 3}')

    first = api_client.get("/products/5", headers={"If-None-Match": tag})
    second = api_client.get("/products/5")

    assert (first.status_code, first["X-Cache"]) == (304, "MISS")
    assert first.content == b""
    assert "Content-Length" not in first
    assert first["ETag"] == tag
    assert products.received[0].headers["if-none-match"] == tag
    assert (second.status_code, second["X-Cache"]) == (200, "HIT")
    assert second.content == b'{"stock": 3}'
    assert calls(products) == 1


def test_a_304_from_the_service_passes_through_and_is_not_stored(api_client, upstreams):
    def reply(received: Received) -> Reply:
        return Reply(304, b"", [("ETag", '"v1"'), ("Cache-Control", "public, no-cache")])

    upstreams["products"].responder = reply

    answers = [api_client.get("/products/2", headers={"If-None-Match": '"v1"'}) for _ in range(2)]

    assert [(a.status_code, a["X-Cache"]) for a in answers] == [(304, "BYPASS")] * 2
    assert all(a["ETag"] == '"v1"' and "Content-Length" not in a for a in answers)
    assert calls(upstreams["products"]) == 2


def test_a_private_answer_with_an_etag_is_never_stored_but_revalidates(api_client, upstreams):
    """Staff answers: `private, no-cache` with their own body's ETag."""
    products = upstreams["products"]
    serve_versions(products, ("Cache-Control", "private, no-cache"))
    staff = bearer(is_staff=True)

    first = api_client.get("/products/9", headers=staff)
    again = api_client.get("/products/9", headers={**staff, "If-None-Match": first["ETag"]})

    assert (first.status_code, first["X-Cache"]) == (200, "BYPASS")
    assert (again.status_code, again["X-Cache"]) == (304, "BYPASS")
    assert again["Cache-Control"] == "private, no-cache"
    assert again["ETag"] == first["ETag"] == etag_of(first.content)
    assert calls(products) == 2  # asked each time: never stored


def test_an_if_none_match_on_a_write_is_left_to_the_service(api_client, upstreams):
    serve_versions(upstreams["products"])
    tag = api_client.get("/products/1")["ETag"]

    written = api_client.put(
        "/products/1",
        b"{}",
        content_type="application/json",
        headers={**bearer(is_staff=True), "If-None-Match": tag},
    )

    assert written.status_code == HTTPStatus.OK  # the fake service ignores it
    assert upstreams["products"].received[-1].headers["if-none-match"] == tag


@pytest.mark.parametrize(
    "headers",
    [
        [("Cache-Control", "private, max-age=30")],
        [("Cache-Control", "no-store")],
        [("Cache-Control", "public, no-cache")],
        [("Cache-Control", "max-age=0")],
        [("Content-Type", "application/json")],  # no Cache-Control at all
        [("Cache-Control", "public, max-age=30"), ("Vary", "*")],
        [("Cache-Control", "public, max-age=30"), ("Set-Cookie", "a=b; Path=/")],
    ],
    ids=["private", "no-store", "no-cache", "max-age-0", "none", "vary-star", "set-cookie"],
)
def test_answers_a_shared_cache_may_not_keep_are_bypassed(api_client, upstreams, headers):
    serve(upstreams["products"], *headers)

    answers = [api_client.get("/products/1") for _ in range(2)]

    assert [a["X-Cache"] for a in answers] == ["BYPASS", "BYPASS"]
    assert calls(upstreams["products"]) == 2


def test_only_200_answers_are_stored(api_client, upstreams):
    serve(upstreams["products"], status=404)

    answers = [api_client.get("/products/404") for _ in range(2)]

    assert [(a.status_code, a["X-Cache"]) for a in answers] == [(404, "BYPASS")] * 2
    assert calls(upstreams["products"]) == 2


def test_the_services_max_age_bounds_the_entry(api_client, upstreams):
    serve(upstreams["products"], ("Cache-Control", "public, max-age=1"))
    api_client.get("/products/1")
    assert api_client.get("/products/1")["X-Cache"] == "HIT"

    wait_until(lambda: api_client.get("/products/1")["X-Cache"] == "MISS", every=0.2)

    assert calls(upstreams["products"]) == 2


def test_vary_named_request_headers_are_part_of_the_key(api_client, upstreams):
    serve(upstreams["products"], *PUBLIC, ("Vary", "Accept-Language"))

    english = api_client.get("/products", headers={"Accept-Language": "en"})
    german = api_client.get("/products", headers={"Accept-Language": "de"})
    english_again = api_client.get("/products", headers={"Accept-Language": "en"})

    assert [english["X-Cache"], german["X-Cache"], english_again["X-Cache"]] == [
        "MISS",
        "MISS",
        "HIT",
    ]
    assert english_again.content == english.content != german.content


def test_a_head_from_the_cache_says_the_length_of_the_gets_body(api_client, upstreams):
    serve(upstreams["products"])
    get = api_client.get("/products/3")

    head = api_client.head("/products/3")

    assert head["X-Cache"] == "HIT"
    assert head["Content-Length"] == get["Content-Length"] == str(len(get.content))
    assert int(head["Content-Length"]) > 0


def test_a_vary_header_named_in_connection_keys_the_variant_the_service_saw(api_client, upstreams):
    """`Connection: Accept-Language` drops it going upstream: the service answers as for
    no language, so that answer must not be stored as the German one."""

    def reply(received: Received) -> Reply:
        language = received.headers.get("accept-language", "none")
        return Reply(
            200, json.dumps({"language": language}).encode(), [*PUBLIC, ("Vary", "Accept-Language")]
        )

    upstreams["products"].responder = reply
    german = {"Accept-Language": "de"}

    hop = api_client.get("/products", headers={**german, "Connection": "Accept-Language"})
    asked = api_client.get("/products", headers=german)
    plain = api_client.get("/products")

    assert hop.json() == {"language": "none"}
    assert (asked["X-Cache"], asked.json()) == ("MISS", {"language": "de"})
    assert (plain["X-Cache"], plain.json()) == ("HIT", {"language": "none"})


def test_a_clients_no_cache_gets_a_fresh_answer_that_refreshes_the_entry(api_client, upstreams):
    serve(upstreams["products"])
    api_client.get("/products/1")

    fresh = api_client.get("/products/1", headers={"Cache-Control": "no-cache"})
    after = api_client.get("/products/1")
    unstored = api_client.get("/products/2", headers={"Cache-Control": "no-store"})
    after_no_store = api_client.get("/products/2")

    assert fresh["X-Cache"] == "BYPASS"
    assert after["X-Cache"] == "HIT"
    assert json.loads(after.content)["call"] == json.loads(fresh.content)["call"] == 2
    assert unstored["X-Cache"] == "BYPASS"
    assert after_no_store["X-Cache"] == "MISS"


def test_staff_and_anonymous_callers_never_share_entries(api_client, upstreams):
    serve(upstreams["products"])
    staff = bearer(user_id=1, is_staff=True)
    user = bearer(user_id=2)

    anonymous = api_client.get("/products/5")
    as_staff = api_client.get("/products/5", headers=staff)
    as_staff_again = api_client.get("/products/5", headers=staff)
    as_user = api_client.get("/products/5", headers=user)
    anonymous_again = api_client.get("/products/5")

    assert [anonymous["X-Cache"], as_staff["X-Cache"], as_user["X-Cache"]] == ["MISS"] * 3
    assert as_staff_again["X-Cache"] == "HIT"
    assert as_staff_again.content == as_staff.content != anonymous.content
    assert anonymous_again.content == anonymous.content
    assert calls(upstreams["products"]) == 3


def test_a_request_with_credentials_is_stored_only_when_the_answer_says_public(
    api_client, upstreams
):
    serve(upstreams["products"], ("Cache-Control", "max-age=30"))
    user = bearer(user_id=2)

    answers = [api_client.get("/products/5", headers=user)["X-Cache"] for _ in range(2)]
    anonymous = [api_client.get("/products/5")["X-Cache"] for _ in range(2)]

    assert answers == ["BYPASS", "BYPASS"]
    assert anonymous == ["MISS", "HIT"]


def test_a_successful_write_through_the_gateway_invalidates_its_path(api_client, upstreams):
    products = upstreams["products"]
    serve(products)
    staff = bearer(user_id=1, is_staff=True)
    api_client.get("/products/7")
    api_client.get("/products/7", headers=staff)
    assert api_client.get("/products/7")["X-Cache"] == "HIT"

    products.responder = lambda received: Reply(409, b"{}", [("Content-Type", "application/json")])
    refused = api_client.patch("/products/7", b"{}", content_type="application/json", headers=staff)
    assert refused["X-Cache"] == "BYPASS"
    assert api_client.get("/products/7")["X-Cache"] == "HIT"  # nothing changed

    products.responder = lambda received: Reply(200, b"{}", [("Content-Type", "application/json")])
    patched = api_client.patch("/products/7", b"{}", content_type="application/json", headers=staff)
    serve(products)

    assert patched["X-Cache"] == "BYPASS"
    assert api_client.get("/products/7")["X-Cache"] == "MISS"
    assert api_client.get("/products/7", headers=staff)["X-Cache"] == "MISS"


def test_a_write_invalidates_its_location_too(api_client, upstreams):
    products = upstreams["products"]
    serve(products)
    api_client.get("/products/9")
    api_client.get("/products")
    products.responder = lambda received: Reply(
        201, b"{}", [("Location", "http://testserver/products/9/")]
    )

    api_client.post(
        "/products", b"{}", content_type="application/json", headers=bearer(is_staff=True)
    )
    serve(products)

    assert api_client.get("/products")["X-Cache"] == "MISS"
    assert api_client.get("/products/9")["X-Cache"] == "MISS"


def test_routes_without_a_cache_key_are_untouched(api_client, upstreams):
    upstreams["orders"].responder = lambda received: Reply(200, b"{}", PUBLIC)

    answer = api_client.get("/orders", headers=bearer(user_id=2))

    assert "X-Cache" not in answer
    assert calls(upstreams["orders"]) == 1


def _purge(api_client, body: object, token: str | None = None):
    headers = {"X-Service-Token": token or settings.COMMON["SERVICE_TOKEN"]}
    return api_client.post(
        "/internal/cache/purge", json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_purge_by_surrogate_key_drops_the_entries_that_carry_it(api_client, upstreams):
    products = upstreams["products"]
    serve(products, keys="product-1")
    api_client.get("/products/1")
    serve(products, keys="product-2")
    api_client.get("/products/2")
    serve(products, keys="products")
    api_client.get("/products?page_size=5")

    answer = _purge(api_client, {"keys": ["product-1", "products"]})

    assert answer.status_code == HTTPStatus.OK
    assert json.loads(answer.content) == {"keys": ["product-1", "products"], "purged": 2}
    assert api_client.get("/products/1")["X-Cache"] == "MISS"
    assert api_client.get("/products?page_size=5")["X-Cache"] == "MISS"
    assert api_client.get("/products/2")["X-Cache"] == "HIT"


def test_a_caller_the_purge_does_not_accept_is_403_as_at_the_registry(api_client, upstreams):
    """Authenticated (its own token) but not allowed: 403, where no or a wrong token is 401."""
    tokens = ["products=products-token", "orders=orders-token"]
    with override_settings(COMMON={**settings.COMMON, "SERVICE_TOKENS": tokens}):
        orders = _purge(api_client, {"keys": ["products"]}, token="orders-token")
        products = _purge(api_client, {"keys": ["products"]}, token="products-token")

    assert orders.status_code == HTTPStatus.FORBIDDEN
    assert orders["Content-Type"] == "application/problem+json"
    assert products.status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    "body",
    [{}, {"keys": []}, {"keys": "products"}, {"keys": ["has space"]}, {"keys": ["x"] * 101}],
)
def test_a_malformed_purge_is_a_400_problem(api_client, upstreams, body):
    answer = _purge(api_client, body)

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer["Content-Type"] == "application/problem+json"


def test_the_purge_endpoint_wants_the_service_token_and_is_not_routed(api_client, upstreams):
    no_token = api_client.post(
        "/internal/cache/purge", b'{"keys": ["products"]}', content_type="application/json"
    )
    wrong = _purge(api_client, {"keys": ["products"]}, token="wrong")

    assert no_token.status_code == wrong.status_code == HTTPStatus.UNAUTHORIZED
    assert no_token["WWW-Authenticate"] == wrong["WWW-Authenticate"] == "X-Service-Token"
    assert no_token["Content-Type"] == "application/problem+json"
    assert all(
        not received.path.startswith("/internal") for received in upstreams["products"].received
    )


def test_an_answer_fetched_during_a_purge_of_its_data_is_not_stored(api_client, upstreams):
    """The race: the service read the old data, the change and its purge happened while
    the answer was on its way; storing it would serve old data for the whole TTL."""
    products = upstreams["products"]

    def purged_meanwhile(received: Received) -> Reply:
        response_cache.invalidate(["product-7"], source="purge")
        return Reply(200, b'{"stock": "old"}', [*PUBLIC, ("Surrogate-Key", "product-7")])

    products.responder = purged_meanwhile
    first = api_client.get("/products/7")
    serve(products, keys="product-7")
    second = api_client.get("/products/7")
    third = api_client.get("/products/7")

    assert first["X-Cache"] == "MISS"  # forwarded; not stored
    assert second["X-Cache"] == "MISS"
    assert third["X-Cache"] == "HIT"
    assert calls(products) == 2


DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # discard port: nothing listens
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.3, "SOCKET_TIMEOUT": 0.3},
    }
}


def test_a_cache_that_cannot_be_reached_is_bypassed_and_skipped_for_a_moment(api_client, upstreams):
    serve(upstreams["products"])
    with override_settings(CACHES=DEAD_REDIS, GATEWAY_RESPONSE_CACHE={"BACKEND_RETRY_SECONDS": 30}):
        store = response_store()
        first = api_client.get("/products/1")
        down_until = store._down_until
        second = api_client.get("/products/1")
        purge = _purge(api_client, {"keys": ["products"]})

    assert [first.status_code, second.status_code] == [HTTPStatus.OK, HTTPStatus.OK]
    assert [first["X-Cache"], second["X-Cache"]] == ["BYPASS", "BYPASS"]
    assert calls(upstreams["products"]) == 2
    assert down_until > time.monotonic() + 20
    assert store._down_until == down_until  # the second request did not try Redis
    assert purge.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert purge["Content-Type"] == "application/problem+json"


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_results_and_invalidations(api_client, upstreams):
    serve(upstreams["products"])
    route = {"route": "/products/{id}"}
    before = {
        result: _sample("gateway_cache_requests_total", **route, result=result)
        for result in ("HIT", "MISS", "BYPASS")
    }
    purges = _sample("gateway_cache_invalidations_total", source="purge")
    writes = _sample("gateway_cache_invalidations_total", source="write")

    api_client.get("/products/1")
    api_client.get("/products/1")
    api_client.get("/products/1", headers={"Cache-Control": "no-store"})
    api_client.delete("/products/1", headers=bearer(is_staff=True))
    _purge(api_client, {"keys": ["products"]})

    after = {
        result: _sample("gateway_cache_requests_total", **route, result=result)
        for result in ("HIT", "MISS", "BYPASS")
    }
    assert {k: after[k] - before[k] for k in after} == {"HIT": 1, "MISS": 1, "BYPASS": 2}
    assert _sample("gateway_cache_invalidations_total", source="purge") == purges + 1
    assert _sample("gateway_cache_invalidations_total", source="write") == writes + 1
    text = api_client.get("/metrics").content.decode()
    assert 'gateway_cache_requests_total{result="HIT",route="/products/{id}"}' in text


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"cache": "30"}, "whole seconds"),
        ({"cache": -1}, "whole seconds"),
        ({"cache": True}, "whole seconds"),
        ({"cache": 30, "methods": {"POST": "staff"}}, "needs a GET"),
    ],
)
def test_a_malformed_cache_key_in_the_route_table_stops_the_start(entry, problem):
    from gateway_project.routing.table import route_from

    route = {"path": "products", "service": "products", "methods": {"GET": "public"}, **entry}
    with pytest.raises(ImproperlyConfigured, match=problem):
        route_from(route)


def test_a_routes_cache_is_its_own_field():
    from gateway_project.routing.table import route_from

    entry = {"path": "products", "service": "products", "methods": {"GET": "public"}}
    assert route_from({**entry, "cache": 30}).cache == 30
    assert route_from(entry).cache == 0
    assert route_from({**entry, "cache": 30}).extra == {}
