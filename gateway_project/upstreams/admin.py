"""`/admin/gateway/services/`: what `GET /gateway/services` answers, as a page of the
gateway's admin (staff, behind its login)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path

from gateway_project.upstreams.status import services_snapshot


def services_page(request: HttpRequest) -> TemplateResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Upstream services and instances",
        "services": services_snapshot(),
    }
    return TemplateResponse(request, "upstreams/services.html", context)


_admin_urls = admin.site.get_urls


def _get_urls() -> list[URLPattern | URLResolver]:
    page = path("gateway/services/", admin.site.admin_view(services_page), name="gateway_services")
    return [page, *_admin_urls()]


admin.site.get_urls = _get_urls  # type: ignore[method-assign]  # this site's one page more
