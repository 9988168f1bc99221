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
from gateway_project.consumers.models import Consumer
from gateway_project.dashboard.figures import DEFAULT_RANGE, RANGES, traffic_figures
from gateway_project.proxy.quotas import usage_summary
from gateway_project.proxy.throttling import window_counter
from gateway_project.routing.table import routes

REFRESH_SECONDS = 5
# The instance states shown are at most this old: staler ones are polled afresh.
STATE_MAX_AGE = REFRESH_SECONDS / 2
# Routes to pages rather than the API, hidden from the routes table unless asked for.
PAGE_PREFIXES: dict[str, str | tuple[str, ...]] = {
    "admin": "/admin/",
    "static": "/static/",
    "docs": ("/docs", "/api/docs"),
}
RANGE_LABELS = {300: "5 min", 900: "15 min", 3600: "1 h"}
logger = logging.getLogger(__name__)


def route_kind(name: str) -> str:
    """'api', or the kind of page a route serves ('admin', 'static', 'docs')."""
    for kind, prefixes in PAGE_PREFIXES.items():
        if name.startswith(prefixes):
            return kind
    return "api"


def route_rows() -> list[dict[str, Any]]:
    return [
        {
            "path": route.name,
            "kind": route_kind(route.name),
            "service": route.service,
            "methods": route.methods,
            "throttle": route.throttle,
            "cache": route.cache or "—",
        }
        for route in routes()
    ]


def shown_state(instance: dict[str, Any]) -> str:
    """One word for the instance: down (its last /ready failed, as /health says), ejected
    (out of the rotation after failures), up, or unknown (not polled yet)."""
    if instance.get("ready") == "down":
        return "down"
    if instance.get("state") == "ejected":
        return "ejected"
    state: str = {"up": "up", "unknown": "unknown"}.get(
        instance.get("ready", ""), instance["state"]
    )
    return state


def services_rows() -> list[dict[str, Any]]:
    """Instances with health and breaker state where the upstreams module gives them;
    else the configured base URLs."""
    try:
        from gateway_project.upstreams.status import services_snapshot
    except ImportError:
        services_snapshot = None  # type: ignore[assignment]  # the module is optional
    if services_snapshot is not None:
        try:
            services = list(services_snapshot(fresh_within=STATE_MAX_AGE))
            for service in services:
                for instance in service["instances"]:
                    instance["shown"] = shown_state(instance)
            return services
        except Exception:  # the dashboard must load when that module fails
            logger.exception("services_snapshot failed; showing the configured URLs")
    urls = common_settings.SERVICE_URLS
    return [
        {
            "name": name,
            "balancer": "—",
            "instances": [
                {
                    "id": url,
                    "url": url,
                    "source": "static",
                    "state": "—",
                    "shown": "—",
                    "breaker": "—",
                }
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
        "ranges": [(seconds, RANGE_LABELS[seconds]) for seconds in RANGES],
        "default_range": DEFAULT_RANGE,
        "consumers": consumer_rows(),
        "usage_days": USAGE_DAYS,
    }
    return render(request, "dashboard/dashboard.html", context)


USAGE_DAYS = 30
MAX_CONSUMERS_SHOWN = 50


def consumer_rows() -> list[dict[str, Any]]:
    """One row per consumer and route it called (one row for a consumer without calls):
    the most recently made consumers first, MAX_CONSUMERS_SHOWN at most."""
    rows = []
    for consumer in Consumer.objects.order_by("-created_at")[:MAX_CONSUMERS_SHOWN]:
        summary = usage_summary(consumer, USAGE_DAYS, window_counter())
        base = {
            "id": consumer.pk,
            "name": consumer.name,
            "owner_id": consumer.owner_id,
            "is_active": consumer.is_active,
            "quota": summary["quota"],
        }
        routes = summary["routes"] or {"": {}}
        rows += [{**base, "route": route, "figures": figures} for route, figures in routes.items()]
    return rows


@require_safe
@never_cache
def dashboard_data(request: HttpRequest) -> JsonResponse:
    """The figures as JSON; a problem (not a login page) for anyone but staff."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return problem(403, "Sign in to the gateway's admin as staff to see the dashboard.")
    try:
        range_seconds = int(request.GET.get("range", DEFAULT_RANGE))
    except ValueError:
        range_seconds = 0
    if range_seconds not in RANGES:
        choices = ", ".join(str(seconds) for seconds in RANGES)
        return problem(400, f"range must be one of {choices} (seconds).")
    names = [route.name for route in routes()]
    return JsonResponse(
        {
            **traffic_figures(names, list(UPSTREAMS), range_seconds=range_seconds),
            "refresh_seconds": REFRESH_SECONDS,
            "services_status": services_rows(),
        }
    )
