"""The documentation hub: Swagger UI and one merged OpenAPI document for every service."""

from django.apps import AppConfig


class DocsHubConfig(AppConfig):
    name = "gateway_project.docs_hub"
    label = "docs_hub"
    verbose_name = "Swagger hub"
