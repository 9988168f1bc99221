"""The route table (gateway_settings.ROUTES) as typed routes, checked as it is read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from common.topology import UPSTREAMS
from gateway_project.conf import gateway_settings
from gateway_project.routing import converters as converters  # registers <segment:>, <subpath:>
from gateway_project.routing.policies import POLICIES, PUBLIC, USER

THROTTLE_SCOPES = ("default", "auth", "none")
FORWARDABLE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SCOPE_PATTERN = re.compile(r"[a-z]+:[a-z]+")
# Paths no route may ever reach: service-to-service endpoints.
FORBIDDEN_PREFIXES = ("internal", "/internal")


@dataclass
class Route:
    path: str  # Django path syntax, no leading or trailing slash
    service: str
    methods: dict[str, str]  # method -> auth policy (public, user, staff)
    throttle: str = "default"
    connect_timeout: float | None = None
    read_timeout: float | None = None
    retry: bool = True  # an idempotent request may be retried once on another instance
    cache: int = 0  # seconds the response cache may serve a GET answer (0: not cached)
    # method -> the scope an API key needs for it (gateway_project.consumers); a method not
    # named here takes no key (a public one takes any caller, a key's holder included).
    keys: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # room for caching, retries, ...

    @cached_property
    def name(self) -> str:
        """The contract's spelling, as logs and URL names show it: `/products/{id}`."""
        return "/" + re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", self.path)

    def policy_for(self, method: str) -> str | None:
        if method == "HEAD":
            method = "GET"
        return self.methods.get(method)

    def scope_for(self, method: str) -> str | None:
        """The scope a key needs for `method` here, or None when keys are not taken."""
        return self.keys.get("GET" if method == "HEAD" else method)

    @property
    def allowed_methods(self) -> list[str]:
        methods = list(self.methods)
        if "GET" in methods and "HEAD" not in methods:
            methods.append("HEAD")
        return methods

    def timeouts(self) -> tuple[float, float]:
        return (
            self.connect_timeout or gateway_settings.CONNECT_TIMEOUT,
            self.read_timeout or gateway_settings.READ_TIMEOUT,
        )


def route_from(entry: dict[str, Any]) -> Route:
    """One route-table entry, checked: a typo must stop the start, not open a hole."""
    known = {
        "path",
        "service",
        "methods",
        "throttle",
        "connect_timeout",
        "read_timeout",
        "retry",
        "cache",
        "keys",
    }
    cache = entry.get("cache", 0)
    route = Route(
        path=entry["path"].strip("/"),
        service=entry["service"],
        methods={method.upper(): policy for method, policy in entry["methods"].items()},
        throttle=entry.get("throttle", "default"),
        connect_timeout=entry.get("connect_timeout"),
        read_timeout=entry.get("read_timeout"),
        retry=bool(entry.get("retry", True)),
        cache=cache if _whole_seconds(cache) else 0,
        keys={method.upper(): scope for method, scope in entry.get("keys", {}).items()},
        extra={key: value for key, value in entry.items() if key not in known},
    )
    problems = []
    if route.service not in UPSTREAMS:
        problems.append(f"unknown service {route.service!r}")
    if route.path.startswith(FORBIDDEN_PREFIXES):
        problems.append("internal endpoints are never proxied")
    if route.throttle not in THROTTLE_SCOPES:
        problems.append(f"throttle must be one of {THROTTLE_SCOPES}")
    if not _whole_seconds(cache):
        problems.append(f"cache must be whole seconds >= 0, not {cache!r}")
    elif cache and "GET" not in route.methods:
        problems.append("cache needs a GET method to cache")
    for method, policy in route.methods.items():
        if method not in FORWARDABLE_METHODS or policy not in POLICIES:
            problems.append(f"{method}: {policy!r} (policies: {', '.join(POLICIES)})")
    for method, scope in route.keys.items():
        if route.methods.get(method) not in (PUBLIC, USER):
            problems.append(f"keys: {method} must be a public or user method of the route")
        if not isinstance(scope, str) or not SCOPE_PATTERN.fullmatch(scope):
            problems.append(f"keys: {method}: scope {scope!r} is not like 'orders:read'")
    if problems:
        raise ImproperlyConfigured(f"GATEWAY route {entry['path']!r}: {'; '.join(problems)}")
    return route


def _whole_seconds(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def routes() -> list[Route]:
    return [route_from(entry) for entry in gateway_settings.ROUTES]
