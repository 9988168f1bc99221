"""The OpenAPI description of the gateway's own endpoints (the proxy routes aside).

The gateway's own views are plain Django views that drf-spectacular cannot see, and there
are few of them: they are described here, and only those that this gateway's URLconf
serves are listed (a page another module adds appears once it is mounted).
"""

from __future__ import annotations

from django.urls import Resolver404, resolve

from common.http.schema import JWT_SECURITY_SCHEME, camel_operation_id
from gateway_project.docs_hub.specs import SECURITY_SCHEME, security_for
from gateway_project.routing.policies import PUBLIC, STAFF

_HEALTH = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "services": {"type": "object", "additionalProperties": {"type": "object"}},
    },
}


def _get(
    summary: str,
    policy: str,
    content: dict,
    *,
    tag: str = "gateway",
    also: dict[str, str] | None = None,
) -> dict:
    responses = {"200": {"description": "OK", "content": content}}
    if policy == STAFF:
        responses["401"] = {"description": "No valid credentials"}
        responses["403"] = {"description": "Not staff"}
    responses.update({code: {"description": text} for code, text in (also or {}).items()})
    return {
        "get": {
            "operationId": camel_operation_id(f"gateway {summary.lower()}".replace("'", "")),
            "summary": summary,
            "tags": [tag],
            "security": security_for(policy),
            "x-gateway-policy": policy,
            "responses": responses,
        }
    }


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


OWN_PATHS = {
    "/health": _get(
        "Every service's readiness",
        PUBLIC,
        _json(_HEALTH),
        also={"503": "A service has no ready instance (the body says which)"},
    ),
    "/health/live": _get("The gateway process serves", PUBLIC, _json({"type": "object"})),
    "/openapi.json": _get(
        "One OpenAPI document of every routed path", PUBLIC, _json({"type": "object"})
    ),
    "/gateway/services": _get("Services and instances", STAFF, _json({"type": "object"})),
}


def _served(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def gateway_spec() -> dict:
    """The gateway's own paths that this deployment serves."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "API gateway",
            "version": "0.1.0",
            "description": "The gateway's own endpoints: health, the merged OpenAPI "
            "document, and (staff) what it routes to.",
        },
        "servers": [{"url": "/", "description": "the gateway"}],
        "paths": {path: item for path, item in OWN_PATHS.items() if _served(path)},
        "components": {"securitySchemes": {SECURITY_SCHEME: JWT_SECURITY_SCHEME}},
    }
