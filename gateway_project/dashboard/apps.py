"""The staff dashboard at /dashboard: routes, instances and live traffic."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "gateway_project.dashboard"
    label = "dashboard"
    verbose_name = "Gateway dashboard"
