"""Where people go on the platform: the four admins (the gateway's at /admin/, each
service's at /admin/<name>/, all served through the gateway), the docs hub, the dashboard
and health. Every admin's header links them (common/templates/admin/base_site.html) and the
gateway's landing page lists them; one list, so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

from common.topology import SERVICES


@dataclass(frozen=True)
class Link:
    rel: str
    href: str  # a path on the gateway's origin
    title: str
    label: str  # what a header shows: short


def admin_links() -> list[Link]:
    """The gateway's admin, then each service's, in registry order."""
    return [
        Link(
            "admin" if service.is_gateway else f"admin-{name}",
            "/admin/" if service.is_gateway else f"/admin/{name}/",
            f"{service.title} admin",
            "Gateway" if service.is_gateway else name.capitalize(),
        )
        for name, service in SERVICES.items()
    ]


def platform_links() -> list[Link]:
    """Every place to start, in the order the landing page lists them."""
    return [
        Link("docs", "/docs", "API docs: Swagger UI over every service", "API docs"),
        Link("openapi", "/openapi.json", "The merged OpenAPI document", "OpenAPI"),
        Link("dashboard", "/dashboard", "The gateway's dashboard", "Dashboard"),
        *admin_links(),
        Link("health", "/health", "Health of every service", "Health"),
    ]
