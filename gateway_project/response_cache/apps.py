"""The shared response cache (a route's `cache` is checked where the route table is read,
gateway_project.routing.table)."""

from django.apps import AppConfig


class ResponseCacheConfig(AppConfig):
    name = "gateway_project.response_cache"
