"""Service instances: discovery, balancing, health, breakers and retries."""

from django.apps import AppConfig


class UpstreamsConfig(AppConfig):
    name = "gateway_project.upstreams"
    label = "gateway_upstreams"
    verbose_name = "Gateway upstreams"
