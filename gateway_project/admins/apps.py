"""The admins app: registers the `subpath` converter the route table's prefix rows use."""

from django.apps import AppConfig
from django.urls import register_converter


class AdminsConfig(AppConfig):
    """Every service's admin through the gateway: the route table's prefix form."""

    name = "gateway_project.admins"
    label = "admins"

    def ready(self) -> None:
        from gateway_project.admins.converters import SubpathConverter

        register_converter(SubpathConverter, "subpath")
