"""The shared response cache; a system check stops the start on a route whose `cache` key
is not whole seconds on a GET route."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.checks import Error, register

from gateway_project.conf import gateway_settings


class ResponseCacheConfig(AppConfig):
    name = "gateway_project.response_cache"

    def ready(self) -> None:
        register(check_route_cache_keys)


def check_route_cache_keys(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A route's `cache` must be whole seconds on a route that has GET: a typo stops
    the start rather than caching something by surprise."""
    problems = []
    for entry in gateway_settings.ROUTES:
        value = entry.get("cache")
        if value is None:
            continue
        methods = {method.upper() for method in entry["methods"]}
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{entry['path']}: cache must be whole seconds >= 0, not {value!r}")
        elif "GET" not in methods:
            problems.append(f"{entry['path']}: cache needs a GET method to cache")
    return [Error(problem, id="response_cache.E001") for problem in problems]
