"""GET /docs (one Swagger UI over every service), its documents, and GET /openapi.json."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from common.topology import SERVICES, UPSTREAMS
from gateway_project.docs_hub.gateway_spec import API_KEYS_HOWTO, gateway_spec
from gateway_project.docs_hub.merge import merge_documents
from gateway_project.docs_hub.specs import gateway_view, service_spec, unavailable_spec
from gateway_project.routing.table import routes

GATEWAY = "gateway"
MERGED_TITLE = "Every service (merged)"
_executor = ThreadPoolExecutor(max_workers=len(UPSTREAMS), thread_name_prefix="specs")


def documents() -> dict[str, dict[str, Any]]:
    """Every source's document as the gateway shows it, asked of the services in parallel;
    a service that did not answer gets the unavailable stand-in."""
    table = routes()
    answers = dict(zip(UPSTREAMS, _executor.map(service_spec, UPSTREAMS), strict=True))
    result = {}
    for name, (spec, reason) in answers.items():
        if spec is None:
            result[name] = unavailable_spec(name, SERVICES[name].title, reason)
        else:
            result[name] = gateway_view(name, spec, table)
    result[GATEWAY] = gateway_spec()
    return result


@require_safe
def hub(request: HttpRequest) -> HttpResponse:
    """Swagger UI with a selector over the merged document (first, shown) and each of the
    four; a down service is marked."""
    docs = documents()
    urls = [{"url": reverse("openapi"), "name": MERGED_TITLE}]
    urls += [
        {
            "url": reverse("docs-spec", args=[name]),
            "name": SERVICES[name].title + (" (unavailable)" if doc.get("x-unavailable") else ""),
        }
        for name, doc in docs.items()
    ]
    config = {"urls": urls, "primaryName": urls[0]["name"]}
    return render(request, "docs_hub/hub.html", {"config": config})


@require_safe
def spec(request: HttpRequest, name: str) -> JsonResponse:
    if name != GATEWAY and name not in UPSTREAMS:
        raise Http404(name)
    if name == GATEWAY:
        return JsonResponse(gateway_spec())
    doc, reason = service_spec(name)
    if doc is None:
        return JsonResponse(unavailable_spec(name, SERVICES[name].title, reason))
    return JsonResponse(gateway_view(name, doc, routes()))


@require_safe
def gateway_document(request: HttpRequest) -> JsonResponse:
    """The gateway's /api/schema: the hub's "API gateway" document, not a second one (with
    the media type drf-spectacular's /api/schema has)."""
    return JsonResponse(gateway_spec(), content_type="application/vnd.oai.openapi+json")


@require_safe
def openapi(request: HttpRequest) -> JsonResponse:
    """Every routed path in one document (a down service's paths are missing, and said)."""
    docs = documents()
    down = [name for name, doc in docs.items() if doc.get("x-unavailable")]
    description = "Every path the gateway routes, with the auth it enforces."
    if down:
        description += f" Unavailable now, so missing: {', '.join(down)}."
    description += "\n\n" + API_KEYS_HOWTO
    merged = merge_documents(
        {name: doc for name, doc in docs.items() if name not in down},
        info={"title": "Django API gateway", "version": "0.1.0", "description": description},
    )
    response = JsonResponse(merged)
    response["Cache-Control"] = "no-cache"
    return response
