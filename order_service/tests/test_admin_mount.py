"""The order service's admin under /admin/orders/, beside its `orders` app at /admin/orders/."""

from __future__ import annotations

from http import HTTPStatus

import pytest

pytestmark = pytest.mark.django_db


def test_the_mounted_admin_links_stay_under_its_prefix(admin_client):
    index = admin_client.get("/admin/orders/")
    changelist = admin_client.get("/admin/orders/orders/order/")

    assert index.status_code == HTTPStatus.OK
    assert 'href="/admin/orders/orders/order/"' in index.content.decode()
    assert changelist.status_code == HTTPStatus.OK


def test_the_own_port_admin_keeps_its_orders_app_pages(admin_client):
    changelist = admin_client.get("/admin/orders/order/")

    assert changelist.status_code == HTTPStatus.OK
    assert changelist.context["cl"].model._meta.label == "orders.Order"
    # Its links were built with the own-port URLconf: the admin at /admin/.
    assert 'href="/admin/orders/"' in changelist.content.decode()  # breadcrumb: the app
