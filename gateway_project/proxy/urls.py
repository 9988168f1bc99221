"""The route table made URL patterns: each route served by the proxy view."""

from __future__ import annotations

from django.urls import URLPattern, path

from gateway_project.proxy.views import ProxyView
from gateway_project.routing.table import routes


def route_urlpatterns() -> list[URLPattern]:
    """One URL pattern per route; anything else is the gateway's own JSON 404."""
    return [
        path(
            route.path,
            ProxyView.as_view(
                route=route, http_method_names=[m.lower() for m in route.allowed_methods]
            ),
            name=route.name,
        )
        for route in routes()
    ]
