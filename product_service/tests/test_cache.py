"""What the gateway's response cache relies on: Cache-Control and Surrogate-Key on reads,
and a purge after every change, wherever it was made: in Redis where the cache lives
there, else at the gateway; one that does not land is kept and tried until it does."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from http import HTTPStatus

import pytest
import requests
import responses as responses_lib
from django.conf import settings
from django.core.cache import caches

from common.limits.response_cache_keys import ResponseCacheKeys, shared_namespace
from common.limits.state import redis_cache
from common.testing import wait_until
from devtools.harness import free_port
from product_service.catalog import cache, purges, services
from product_service.catalog.exceptions import InsufficientStock
from product_service.tests.factories import ProductFactory
from product_service.tests.test_admin import CHANGELIST, changelist_post

pytestmark = pytest.mark.django_db

GATEWAY = "http://gateway.test"
PURGE = f"{GATEWAY}/internal/cache/purge"
MEMORY_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
needs_redis = pytest.mark.skipif(
    redis_cache() is None, reason="REDIS_URL not set: no Redis to purge in"
)


@pytest.fixture
def gateway(settings):
    """A gateway without Redis (its cache is its process's memory, so purges go to it over
    HTTP) that accepts purges; `purged()` lists what it got."""
    settings.CACHES = MEMORY_CACHE
    settings.COMMON = {**settings.COMMON, "GATEWAY_INTERNAL_URL": GATEWAY}
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(PURGE, json={"purged": 0})
        yield mock
        purges.purge_sender().forget()  # no try after the fake gateway is gone


def purged(mock) -> list[list[str]]:
    return [json.loads(call.request.body)["keys"] for call in mock.calls]


def test_public_reads_are_kept_by_the_gateway_and_revalidated_by_everyone_else(
    api_client, customer
):
    product = ProductFactory()

    listed = api_client.get("/products")
    detail = api_client.get(f"/products/{product.pk}")
    as_customer = api_client.get(f"/products/{product.pk}", headers=customer)

    # No purge reaches a browser or a CDN: they must revalidate. The gateway, which the
    # purges reach, keeps the answer PUBLIC_MAX_AGE seconds (and strips the header).
    for answer in (listed, detail, as_customer):
        assert answer["Cache-Control"] == "public, no-cache"
        assert answer["Surrogate-Control"] == "max-age=30"
    assert listed["Surrogate-Key"] == "products"
    assert detail["Surrogate-Key"] == f"product-{product.pk}"


def test_staff_reads_are_private_because_staff_see_inactive_products(api_client, staff):
    product = ProductFactory(is_active=False)

    detail = api_client.get(f"/products/{product.pk}", headers=staff)
    listed = api_client.get("/products", headers=staff)

    assert detail.status_code == HTTPStatus.OK
    assert detail["Cache-Control"] == listed["Cache-Control"] == "private, no-cache"
    assert "Surrogate-Control" not in detail
    # Their ETag is their body's too: never the anonymous answer's, whose body differs.
    assert detail["ETag"] == cache.body_etag(detail.content)


def test_a_reads_etag_is_a_strong_hash_of_its_body_and_a_head_has_the_gets(api_client):
    product = ProductFactory(stock=4)

    first = api_client.get(f"/products/{product.pk}")
    again = api_client.get(f"/products/{product.pk}")
    head = api_client.head(f"/products/{product.pk}")
    listed = api_client.get("/products")

    assert first["ETag"] == cache.body_etag(first.content)
    assert first["ETag"].startswith('"')
    assert first["ETag"].endswith('"')
    assert again["ETag"] == head["ETag"] == first["ETag"]
    assert listed["ETag"] == cache.body_etag(listed.content) != first["ETag"]


def test_the_etag_changes_with_the_body(api_client):
    product = ProductFactory(stock=4)
    before = api_client.get(f"/products/{product.pk}")

    product.stock = 5
    product.save()
    after = api_client.get(f"/products/{product.pk}")

    assert after.json()["stock"] == 5
    assert after["ETag"] != before["ETag"]
    assert after["ETag"] == cache.body_etag(after.content)


def test_the_staffs_etag_differs_from_the_publics_when_their_bodies_do(api_client, staff):
    product = ProductFactory()

    public = api_client.get(f"/products/{product.pk}")
    as_staff = api_client.get(f"/products/{product.pk}", headers=staff)

    assert (public.content == as_staff.content) == (public["ETag"] == as_staff["ETag"])


def test_a_missing_product_is_not_marked_cacheable(api_client):
    missing = api_client.get("/products/999999")

    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert "public" not in missing.get("Cache-Control", "")
    assert "Surrogate-Key" not in missing
    assert "Surrogate-Control" not in missing
    assert "ETag" not in missing


def test_the_surrogate_key_names_the_product_however_its_id_was_spelled(api_client):
    product = ProductFactory()

    assert api_client.get(f"/products/0{product.pk}")["Surrogate-Key"] == f"product-{product.pk}"


def test_api_writes_purge_the_product_and_the_lists_after_commit(
    api_client, staff, gateway, django_capture_on_commit_callbacks
):
    body = {"sku": "CACHE-1", "name": "Cached", "price": "1.00", "stock": 3}
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post("/products", body, format="json", headers=staff)
    pk = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api_client.patch(f"/products/{pk}", {"stock": 5}, format="json", headers=staff)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.patch(f"/products/{pk}", {"name": "Renamed"}, format="json", headers=staff)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.delete(f"/products/{pk}", headers=staff)

    assert purged(gateway) == [["products", f"product-{pk}"]] * 4
    call = gateway.calls[0].request
    assert call.headers["X-Service-Token"] == settings.COMMON["SERVICE_TOKEN"]


def test_reservations_and_releases_purge_the_products_they_move(
    gateway, django_capture_on_commit_callbacks
):
    one, two = ProductFactory(stock=5), ProductFactory(stock=5)
    lines = [services.Line(two.pk, 1), services.Line(one.pk, 2)]

    with django_capture_on_commit_callbacks(execute=True):
        services.stock_reserve(order_ref="r1", items=lines)
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_reserve(order_ref="r1", items=lines)  # a repeat moves nothing
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_release(order_ref="r1")
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_release(order_ref="r1")  # released already: nothing comes back

    keys = ["products", f"product-{one.pk}", f"product-{two.pk}"]
    assert purged(gateway) == [keys, keys]


def test_a_refused_reservation_purges_nothing(gateway, django_capture_on_commit_callbacks):
    product = ProductFactory(stock=1)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(InsufficientStock),
    ):
        services.stock_reserve(order_ref="r2", items=[services.Line(product.pk, 2)])

    assert purged(gateway) == []


def test_admin_edits_purge_list_stock_and_change_form_alike(
    admin_client, gateway, django_capture_on_commit_callbacks
):
    product = ProductFactory(stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CHANGELIST, changelist_post(product, stock=7, seen=5))
    form = {
        "sku": product.sku,
        "name": "Edited in the admin",
        "description": "",
        "price": "12.50",
        "stock": "7",
        "initial-stock": "7",
        "is_active": "on",
        "_save": "Save",
    }
    with django_capture_on_commit_callbacks(execute=True):
        changed = admin_client.post(f"{CHANGELIST}{product.pk}/change/", form)

    assert changed.status_code == HTTPStatus.FOUND
    product.refresh_from_db()
    assert (product.stock, product.name) == (7, "Edited in the admin")
    keys = ["products", f"product-{product.pk}"]
    assert keys in purged(gateway)
    assert len(purged(gateway)) >= 2
    assert all(call == keys for call in purged(gateway))


def test_a_gateway_that_fails_the_purge_does_not_fail_the_change(
    api_client, staff, gateway, django_capture_on_commit_callbacks, caplog
):
    product = ProductFactory(stock=5)
    gateway.replace(responses_lib.POST, PURGE, status=503)

    with django_capture_on_commit_callbacks(execute=True):
        answer = api_client.patch(
            f"/products/{product.pk}", {"stock": 4}, format="json", headers=staff
        )

    assert answer.status_code == HTTPStatus.OK
    assert answer.json()["stock"] == 4
    assert "cache purge" in caplog.text


def test_without_a_gateway_url_nothing_is_sent(
    api_client, staff, django_capture_on_commit_callbacks
):
    product = ProductFactory(stock=5)

    answer, calls = _stock_changed_catching_http(
        api_client, staff, product, capture=django_capture_on_commit_callbacks
    )

    assert answer.status_code == HTTPStatus.OK
    assert calls == 0


def _stock_changed_catching_http(api_client, staff, product, *, capture) -> tuple:
    """PATCH the product's stock, running its commit hooks, with every HTTP call caught
    (`capture`: django_capture_on_commit_callbacks): the answer, and how many calls."""
    with (
        responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock,
        capture(execute=True),
    ):
        answer = api_client.patch(
            f"/products/{product.pk}", {"stock": 4}, format="json", headers=staff
        )
    return answer, len(mock.calls)


def _slow_gateway(mock, seconds: float) -> None:
    def answer(request):
        time.sleep(seconds)
        return (200, {}, json.dumps({"purged": 0}))

    mock.remove(responses_lib.POST, PURGE)
    mock.add_callback(responses_lib.POST, PURGE, callback=answer)


def test_a_busy_gateway_holds_the_writer_for_the_purge_wait_only_and_still_gets_the_purge(
    gateway,
):
    """A gateway whose threads are all forwarding writes that wait on this service answers
    a purge late: the writer goes on after PURGE_WAIT, the purge lands when it can, and
    the purges that queued meanwhile go out as one."""
    _slow_gateway(gateway, 1.5)

    started = time.monotonic()
    cache.purge(["products", "product-1"])
    waited = time.monotonic() - started
    cache.purge(["products", "product-2"])
    cache.purge(["product-3"])

    # The writer waited PURGE_WAIT, not for the gateway's answer (1.5 s): the bound is the
    # behaviour, with room for a busy machine.
    assert cache.PURGE_WAIT <= waited < cache.PURGE_WAIT + 1.0
    wait_until(lambda: len(gateway.calls) == 2)
    assert purged(gateway) == [["products", "product-1"], ["products", "product-2", "product-3"]]


def _unreachable_gateway(mock) -> None:
    mock.replace(responses_lib.POST, PURGE, body=requests.ConnectionError("refused"))


def _outage_logs(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == purges.__name__]


def test_a_purge_the_gateway_cannot_take_is_kept_and_sent_again_until_it_lands(gateway, caplog):
    """A gateway being replaced, or down: the purge is not lost, and the outage is one
    log line when it begins and one when it ends, however many tries it took."""
    _unreachable_gateway(gateway)
    caplog.set_level(logging.WARNING, logger=purges.__name__)

    cache.purge(["products", "product-1"])
    wait_until(lambda: len(gateway.calls) >= 3, what="tries against a gateway that is down")
    cache.purge(["product-2"])  # kept beside the first
    gateway.replace(responses_lib.POST, PURGE, json={"purged": 1})
    wait_until(lambda: not purges.purge_sender().pending(), what="the purges delivered")

    delivered = [c for c in gateway.calls if getattr(c.response, "status_code", 0) == 200]
    assert [json.loads(call.request.body)["keys"] for call in delivered] == [
        ["products", "product-1", "product-2"]
    ]
    logged = _outage_logs(caplog)
    assert len(logged) == 2
    assert logged[0].startswith("cache purge of ['products', 'product-1'] failed: gateway")
    assert logged[1].startswith("cache purges delivered again")


def test_a_gateway_answering_errors_gets_the_purge_again(gateway):
    gateway.replace(responses_lib.POST, PURGE, status=503)

    cache.purge(["products", "product-1"])
    wait_until(lambda: len(gateway.calls) >= 2, what="a second try after a 503")
    gateway.replace(responses_lib.POST, PURGE, json={"purged": 0})

    wait_until(lambda: gateway.calls[-1].response.status_code == 200)
    assert purged(gateway)[-1] == ["products", "product-1"]
    assert purges.purge_sender().pending() == []


def test_while_purges_fail_a_writer_does_not_wait_for_the_next_try(gateway):
    _unreachable_gateway(gateway)
    cache.purge(["products"])
    wait_until(lambda: purges.purge_sender().pending(), what="the first try failed")

    started = time.monotonic()
    cache.purge(["product-1"])

    assert time.monotonic() - started < cache.PURGE_WAIT
    assert purges.purge_sender().pending() == ["products", "product-1"]


def test_the_sender_backs_off_to_a_bound_and_never_drops_a_key():
    """Each try comes later than the last, but never more than RETRY_MOST later (doubling
    without a bound would wait 0.01 * 2**9 s = 5 s before the tenth)."""
    tries: list[tuple[float, list[str]]] = []
    landed = threading.Event()

    def deliver(keys: list[str]) -> None:
        tries.append((time.monotonic(), keys))
        if len(tries) <= 10:
            raise purges.PurgeNotDelivered("down")
        landed.set()

    sender = purges.PurgeSender(deliver, first=0.01, most=0.04)
    sender.send(["products", "product-1"])

    assert landed.wait(10)
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(tries)]
    assert all(gap >= want for gap, want in zip(gaps, [0.01, 0.02, 0.04, 0.04], strict=False))
    assert max(gaps) < 1.0
    assert {tuple(keys) for _, keys in tries} == {("products", "product-1")}
    assert sender.pending() == []


@pytest.fixture
def unreachable_redis(settings):
    """This service's cache in a Redis that is not there (a closed port on loopback);
    yields the caches it replaced."""
    replaced = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    yield replaced
    purges.purge_sender().forget()


def test_with_redis_unreachable_the_purge_is_kept_and_the_change_answers(
    api_client, staff, unreachable_redis, django_capture_on_commit_callbacks, caplog
):
    product = ProductFactory(stock=5)

    with django_capture_on_commit_callbacks(execute=True):
        answer = api_client.patch(
            f"/products/{product.pk}", {"stock": 4}, format="json", headers=staff
        )

    assert answer.status_code == HTTPStatus.OK
    assert purges.purge_sender().pending() == ["products", f"product-{product.pk}"]
    assert "cache purge of" in caplog.text


@needs_redis
def test_a_purge_kept_while_redis_was_unreachable_lands_once_it_answers(
    settings, unreachable_redis
):
    cache.purge(["products", "product-1"])
    assert purges.purge_sender().pending() == ["products", "product-1"]

    settings.CACHES = unreachable_redis  # Redis answers again
    wait_until(lambda: not purges.purge_sender().pending(), what="the kept purge delivered")

    client = caches["default"].client.get_client(write=True)
    names = ResponseCacheKeys(shared_namespace())
    assert client.get(names.purge_mark("product-1")) == client.get(names.sequence)


def _gateway_entry(client, names: ResponseCacheKeys, base: str, tags: list[str]) -> str:
    """An entry as the gateway's store keeps it (PUT_SCRIPT): the answer, its tags beside
    it, and its key in each tag's set."""
    entry = f"{names.entries(base)}:variant"
    client.set(entry, b"the old answer", ex=30)
    client.set(f"{entry}|tags", "," + ",".join(names.tag(tag) for tag in tags) + ",", ex=30)
    for tag in tags:
        client.sadd(names.tag(tag), entry)
    return entry


@needs_redis
def test_with_redis_a_change_purges_the_gateways_entries_there_with_no_gateway(
    api_client, staff, django_capture_on_commit_callbacks
):
    """Every gateway down (no GATEWAY_INTERNAL_URL even): the product service drops the
    cached answers in Redis itself, and marks the tags so that an answer read before the
    change is refused by the gateway's race guard."""
    product, other = ProductFactory(stock=5), ProductFactory(stock=5)
    client = caches["default"].client.get_client(write=True)
    names = ResponseCacheKeys(shared_namespace())
    tag = f"product-{product.pk}"
    detail = _gateway_entry(client, names, f"anon|/products/{product.pk}", [f"path:{tag}", tag])
    listed = _gateway_entry(client, names, "anon|/products", ["path:/products", "products"])
    kept = _gateway_entry(client, names, f"anon|/products/{other.pk}", [f"product-{other.pk}"])
    before = int(client.get(names.sequence) or 0)

    answer, calls = _stock_changed_catching_http(
        api_client, staff, product, capture=django_capture_on_commit_callbacks
    )

    assert answer.status_code == HTTPStatus.OK
    assert calls == 0
    assert client.exists(detail, listed, f"{detail}|tags", names.tag(tag)) == 0
    assert client.get(kept) == b"the old answer"
    sequence = int(client.get(names.sequence))
    assert sequence == before + 1
    assert int(client.get(names.purge_mark(tag))) == sequence
    assert int(client.get(names.purge_mark("products"))) == sequence
    assert purges.purge_sender().pending() == []
