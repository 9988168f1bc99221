"""The landing page: where a visitor of `/` starts."""

from django.apps import AppConfig


class LandingConfig(AppConfig):
    name = "gateway_project.landing"
    label = "landing"
    verbose_name = "Landing page"
