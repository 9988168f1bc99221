"""The OpenAPI description of the gateway's own endpoints (the proxy routes aside).

The gateway's own views are plain Django views that drf-spectacular cannot see, and there
are few of them: they are described here, and only those that this gateway's URLconf
serves are listed (a page another module adds appears once it is mounted). The consumers
API (gateway_project.portal) is DRF: drf-spectacular describes it, once per process.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator

from common.http.schema import API_KEY_SECURITY_SCHEME, JWT_SECURITY_SCHEME, camel_operation_id
from gateway_project.docs_hub.specs import (
    API_KEY_SCHEME,
    SECURITY_SCHEME,
    prune_components,
    security_for,
)
from gateway_project.routing.policies import PUBLIC, STAFF, USER

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
    content: dict[str, Any],
    *,
    tag: str = "gateway",
    also: dict[str, str] | None = None,
) -> dict[str, Any]:
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


def _json(schema: dict[str, Any]) -> dict[str, Any]:
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


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "1", path)


def _served(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


API_KEYS_HOWTO = (
    "API keys: sign in (`POST /users/login`), Authorize `jwtAuth` with the `access` token, "
    "make a consumer (`POST /gateway/consumers`) and a key for it "
    "(`POST /gateway/consumers/{consumer_id}/keys` with the scopes it needs, such as "
    "`orders:read`); the answer's `key` is shown that once. Then Authorize `apiKey` with "
    "the key: operations that list `apiKey` take it (as `X-API-Key`) for the scope they name."
)


CONSUMERS_API = "/gateway/consumers"  # gateway_project.portal, mounted by the URLconf


@functools.cache
def _portal_document() -> dict[str, Any]:
    """drf-spectacular's description of the URLconf's consumers API (read from the URLconf:
    the hub does not import the portal)."""
    doc = SchemaGenerator().get_schema(request=None, public=True)
    paths = {path: item for path, item in doc["paths"].items() if path.startswith(CONSUMERS_API)}
    for item in paths.values():
        for operation in item.values():
            operation["tags"] = ["gateway"]
            operation["x-gateway-policy"] = USER
    return prune_components({"paths": paths, "components": doc.get("components", {})})


def portal_paths() -> tuple[dict[str, Any], dict[str, Any]]:
    """The consumers API's paths and the schemas they name (a fresh copy each time)."""
    doc = copy.deepcopy(_portal_document())
    return doc["paths"], doc.get("components", {}).get("schemas", {})


def gateway_spec() -> dict[str, Any]:
    """The gateway's own paths that this deployment serves."""
    paths = {path: item for path, item in OWN_PATHS.items() if _served(path)}
    portal, schemas = portal_paths()
    paths.update({path: item for path, item in portal.items() if _served(_concrete(path))})
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "API gateway",
            "version": "0.1.0",
            "description": "The gateway's own endpoints: health, the merged OpenAPI "
            "document, (staff) what it routes to, and your consumers and their API keys.\n\n"
            + API_KEYS_HOWTO,
        },
        "servers": [{"url": "/", "description": "the gateway"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                SECURITY_SCHEME: JWT_SECURITY_SCHEME,
                API_KEY_SCHEME: API_KEY_SECURITY_SCHEME,
            },
        },
    }
