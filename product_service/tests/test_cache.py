"""What the gateway's response cache relies on: Cache-Control and Surrogate-Key on reads,
and a purge at the gateway after every change, wherever it was made."""

from __future__ import annotations

import json
import time
from http import HTTPStatus

import pytest
import responses as responses_lib
from django.conf import settings

from common.testing import wait_until
from product_service.catalog import cache, services
from product_service.catalog.exceptions import InsufficientStock
from product_service.tests.factories import ProductFactory
from product_service.tests.test_admin import CHANGELIST, changelist_post

pytestmark = pytest.mark.django_db

GATEWAY = "http://gateway.test"
PURGE = f"{GATEWAY}/internal/cache/purge"


@pytest.fixture
def gateway(settings):
    """A gateway (at the HTTP level) that accepts purges; `purged()` lists what it got."""
    settings.COMMON = {**settings.COMMON, "GATEWAY_INTERNAL_URL": GATEWAY}
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(PURGE, json={"purged": 0})
        yield mock


def purged(mock) -> list[list[str]]:
    return [json.loads(call.request.body)["keys"] for call in mock.calls]


def test_public_reads_may_be_kept_by_a_shared_cache_and_name_their_data(api_client, customer):
    product = ProductFactory()

    listed = api_client.get("/products")
    detail = api_client.get(f"/products/{product.pk}")
    as_customer = api_client.get(f"/products/{product.pk}", headers=customer)

    assert listed["Cache-Control"] == detail["Cache-Control"] == "public, max-age=30"
    assert as_customer["Cache-Control"] == "public, max-age=30"
    assert listed["Surrogate-Key"] == "products"
    assert detail["Surrogate-Key"] == f"product-{product.pk}"


def test_staff_reads_are_private_because_staff_see_inactive_products(api_client, staff):
    product = ProductFactory(is_active=False)

    detail = api_client.get(f"/products/{product.pk}", headers=staff)
    listed = api_client.get("/products", headers=staff)

    assert detail.status_code == HTTPStatus.OK
    assert detail["Cache-Control"] == listed["Cache-Control"] == "private"


def test_a_missing_product_is_not_marked_cacheable(api_client):
    missing = api_client.get("/products/999999")

    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert "public" not in missing.get("Cache-Control", "")
    assert "Surrogate-Key" not in missing


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
    with (
        responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock,
        django_capture_on_commit_callbacks(execute=True),
    ):
        answer = api_client.patch(
            f"/products/{product.pk}", {"stock": 4}, format="json", headers=staff
        )

    assert answer.status_code == HTTPStatus.OK
    assert len(mock.calls) == 0


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
