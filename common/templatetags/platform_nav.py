"""`{% platform_nav %}`: the admins' header row linking every admin (this one marked), the
docs hub, the dashboard and health, on the gateway's origin (common.identity.admin_nav)."""

from __future__ import annotations

from django import template

from common.identity.admin_nav import admin_links, platform_links
from common.settings.namespaces import common_settings

register = template.Library()

_ELSEWHERE = ("docs", "dashboard", "health")


@register.inclusion_tag("admin/platform_nav.html")
def platform_nav() -> dict[str, object]:
    origin = common_settings.PUBLIC_ORIGIN
    here = (
        "admin"
        if common_settings.SERVICE_NAME == "gateway"
        else f"admin-{common_settings.SERVICE_NAME}"
    )
    return {
        "admins": [
            {
                "href": origin + link.href,
                "label": link.label,
                "title": link.title,
                "current": link.rel == here,
            }
            for link in admin_links()
        ],
        "elsewhere": [
            {"href": origin + link.href, "label": link.label, "title": link.title}
            for link in platform_links()
            if link.rel in _ELSEWHERE
        ],
    }
