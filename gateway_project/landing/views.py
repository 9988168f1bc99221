"""GET / : what the platform is and where to go, as HTML for a browser and as JSON for an
API client (content negotiation on Accept); GET /favicon.ico."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from common.identity.admin_nav import platform_links

FAVICON = Path(__file__).parent / "static" / "landing" / "favicon.svg"
FAVICON_MAX_AGE = 7 * 24 * 3600  # a week: the URL is fixed, so not "immutable"
DESCRIPTION = (
    "An API gateway in front of three Django REST Framework services (users, products, "
    "orders): one origin, one sign-on, one OpenAPI document."
)


def links() -> list[dict[str, str]]:
    """Every place to start, in the order the page lists them (the admins' header links
    the same places: common.identity.admin_nav)."""
    return [{"rel": link.rel, "href": link.href, "title": link.title} for link in platform_links()]


def wants_html(request: HttpRequest) -> bool:
    """HTML only when Accept names text/html (a browser's does) and prefers it to JSON;
    `application/json`, `*/*` or no Accept at all get JSON."""
    named = any(
        (media.main_type, media.sub_type) == ("text", "html") for media in request.accepted_types
    )
    return named and request.get_preferred_type(["text/html", "application/json"]) == "text/html"


# GET and HEAD only, so no form to protect: a POST is told 405, not CSRF's 403.
@csrf_exempt
@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    if wants_html(request):
        response = render(
            request, "landing/landing.html", {"description": DESCRIPTION, "links": links()}
        )
    else:
        response = JsonResponse(
            {"name": "Django API gateway", "description": DESCRIPTION, "links": links()}
        )
    patch_vary_headers(response, ("Accept",))
    return response


@cache
def _favicon() -> bytes:
    return FAVICON.read_bytes()


@csrf_exempt
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_favicon(), content_type="image/svg+xml")
    response["Cache-Control"] = f"public, max-age={FAVICON_MAX_AGE}"
    return response
