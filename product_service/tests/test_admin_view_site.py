"""A service's admin, served through the gateway under /admin/products/: its "View site"
is the gateway's landing page (common.apps), not the service's own `/`."""

from __future__ import annotations

from django.contrib import admin

from common.settings.namespaces import common_settings


def test_view_site_is_the_gateways_landing_page():
    assert common_settings.PUBLIC_ORIGIN
    assert admin.site.site_url == f"{common_settings.PUBLIC_ORIGIN}/"
