"""GET /dashboard (staff, behind the gateway's admin sign-in) and the JSON it polls."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from common.http.problems import problem
from common.settings.namespaces import common_settings
from common.topology import UPSTREAMS
from gateway_project.dashboard.figures import traffic_figures
from gateway_project.routing.table import routes

REFRESH_SECONDS = 5
logger = logging.getLogger(__name__)


def route_rows() -> list[dict[str, Any]]:
    return [
        {
            "path": route.name,
            "service": route.service,
            "methods": route.methods,
            "throttle": route.throttle,
            "cache": route.cache or "—",
        }
        for route in routes()
    ]


def services_rows() -> list[dict[str, Any]]:
    """Instances with health and breaker state where the upstreams module gives them;
    else the configured base URLs."""
    try:
        from gateway_project.upstreams.status import services_snapshot
    except ImportError:
        services_snapshot = None
    if services_snapshot is not None:
        try:
            return list(services_snapshot())
        except Exception:  # the dashboard must load when that module fails
            logger.exception("services_snapshot failed; showing the configured URLs")
    urls = common_settings.SERVICE_URLS
    return [
        {
            "name": name,
            "balancer": "—",
            "instances": [
                {"id": url, "url": url, "source": "static", "state": "—", "breaker": "—"}
                for url in str(urls[name]).split(",")
            ],
        }
        for name in UPSTREAMS
    ]


@require_safe
@never_cache
@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "routes": route_rows(),
        "services": services_rows(),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return render(request, "dashboard/dashboard.html", context)


@require_safe
@never_cache
def dashboard_data(request: HttpRequest) -> JsonResponse:
    """The figures as JSON; a problem (not a login page) for anyone but staff."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return problem(403, "Sign in to the gateway's admin as staff to see the dashboard.")
    names = [route.name for route in routes()]
    return JsonResponse(
        {
            **traffic_figures(names, list(UPSTREAMS)),
            "services_status": services_rows(),
        }
    )
