"""The proxy: the route table made URL patterns, forwarded to the services."""

from django.apps import AppConfig


class ProxyConfig(AppConfig):
    name = "gateway_project.proxy"
    label = "gateway_proxy"
    verbose_name = "Gateway proxy"
