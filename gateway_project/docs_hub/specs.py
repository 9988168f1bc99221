"""Each service's OpenAPI document as the gateway exposes it.

A service describes its own paths (internal ones included) on its own port; through the
gateway only the route table's paths and methods exist, on the gateway's address, with the
gateway's auth policy. `gateway_view` rewrites a service's document to say exactly that,
`service_spec` fetches and caches it briefly (a down service is remembered for less).
"""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import APIException

from common.http.schema import API_KEY_SECURITY_SCHEME, JWT_SECURITY_SCHEME
from common.identity.service_client import client_for
from common.settings.namespaces import on_test_reset
from gateway_project.routing.policies import PUBLIC, STAFF
from gateway_project.routing.table import Route

CACHE_SECONDS = 30.0  # a good answer
FAILURE_CACHE_SECONDS = 5.0  # a service that did not answer is asked again soon
FETCH_TIMEOUT = (1.0, 3.0)
SECURITY_SCHEME = "jwtAuth"
API_KEY_SCHEME = "apiKey"
OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_cache: dict[str, tuple[float, dict[str, Any] | None, str]] = {}
_lock = threading.Lock()


def path_shape(path: str) -> str:
    """`/products/{id}` and `/products/{pk}` are one path: parameter names aside."""
    return re.sub(r"\{[^}]*\}", "{}", "/" + path.strip("/"))


def security_for(
    policy: str, service_security: list[Any] | None = None
) -> list[dict[str, list[Any]]]:
    """The gateway's policy as OpenAPI security. A public route takes a token when its
    service reads one (`GET /products/{id}` shows staff more) and else none: Swagger UI
    then sends none, and a stale token cannot make the gateway refuse a login. Anyone's
    `{}` comes first where a token is optional: it reads as open to all."""
    if policy == PUBLIC:
        takes_token = any(requirement for requirement in service_security or [])
        return [{}, {SECURITY_SCHEME: []}] if takes_token else [{}]
    return [{SECURITY_SCHEME: []}]


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def prune_components(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop components no kept path refers to (internal endpoints' schemas, say)."""
    components = doc.get("components", {})
    wanted: set[tuple[str, str]] = set()
    pending = list(_refs(doc.get("paths", {})))
    while pending:
        ref = pending.pop()
        parts = ref.split("/")
        if len(parts) != 4 or parts[:2] != ["#", "components"]:
            continue
        key = (parts[2], parts[3])
        if key in wanted:
            continue
        wanted.add(key)
        pending.extend(_refs(components.get(parts[2], {}).get(parts[3], {})))
    kept = {}
    for section, entries in components.items():
        if section == "securitySchemes":
            kept[section] = entries
            continue
        chosen = {name: value for name, value in entries.items() if (section, name) in wanted}
        if chosen:
            kept[section] = chosen
    doc["components"] = kept
    return doc


def _operation_for_gateway(
    operation: dict[str, Any], policy: str, scope: str | None = None
) -> dict[str, Any]:
    operation["security"] = security_for(policy, operation.get("security"))
    operation["x-gateway-policy"] = policy
    if scope is not None and policy != PUBLIC:
        operation["security"].append({API_KEY_SCHEME: []})
        operation["x-gateway-key-scope"] = scope
        note = f"An API key with the scope `{scope}` may call it too (as its consumer's owner)."
        operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
    if policy == STAFF:
        note = "Staff only: the gateway answers 403 to signed-in users who are not staff."
        operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
    return operation


def gateway_view(service: str, spec: dict[str, Any], routes: list[Route]) -> dict[str, Any]:
    """The service's document with only the routed paths, methods and the gateway's auth."""
    doc = copy.deepcopy(spec)
    table = {path_shape(route.name): route for route in routes if route.service == service}
    paths = {}
    for path, item in doc.get("paths", {}).items():
        route = table.get(path_shape(path))
        if route is None:
            continue
        kept = {}
        for key, value in item.items():
            if key not in OPERATIONS:
                kept[key] = value
            elif policy := route.policy_for(key.upper()):
                kept[key] = _operation_for_gateway(value, policy, route.scope_for(key.upper()))
        if any(key in OPERATIONS for key in kept):
            paths[path] = kept
    doc["paths"] = paths
    doc["servers"] = [{"url": "/", "description": "the gateway"}]
    doc.setdefault("components", {})["securitySchemes"] = {
        SECURITY_SCHEME: JWT_SECURITY_SCHEME,
        API_KEY_SCHEME: API_KEY_SECURITY_SCHEME,
    }
    return prune_components(doc)


def fetch_spec(service: str) -> dict[str, Any]:
    """The service's own /api/schema (JSON); APIException or ValueError when it fails."""
    response = client_for(service).get(
        "/api/schema", params={"format": "json"}, timeout=FETCH_TIMEOUT
    )
    if response.status_code != 200:
        raise ValueError(f"/api/schema answered {response.status_code}")
    spec = response.json()
    if not isinstance(spec, dict) or "paths" not in spec:
        raise ValueError("/api/schema is not an OpenAPI document")
    return spec


def service_spec(service: str) -> tuple[dict[str, Any] | None, str]:
    """(the service's own document or None, why not), from a short-lived cache."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(service)
    if cached and cached[0] > now:
        return cached[1], cached[2]
    try:
        spec, reason = fetch_spec(service), ""
    except (APIException, ValueError) as error:
        spec, reason = None, str(error) or type(error).__name__
    ttl = CACHE_SECONDS if spec is not None else FAILURE_CACHE_SECONDS
    with _lock:
        _cache[service] = (now + ttl, spec, reason)
    return spec, reason


@on_test_reset
def _forget_specs() -> None:
    with _lock:
        _cache.clear()


def unavailable_spec(service: str, title: str, reason: str) -> dict[str, Any]:
    """A valid, empty document saying why: Swagger UI shows it instead of an error."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{title} (unavailable)",
            "version": "unavailable",
            "description": f"The {service} service did not give its API description "
            f"({reason}). The gateway asks again within {FAILURE_CACHE_SECONDS:.0f} s: "
            "reload the page shortly.",
        },
        "servers": [{"url": "/", "description": "the gateway"}],
        "paths": {},
        "x-unavailable": True,
    }
