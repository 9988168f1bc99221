from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "gateway_project.dashboard"
    label = "dashboard"
    verbose_name = "Gateway dashboard"
