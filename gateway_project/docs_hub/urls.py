"""/docs, each service's rewritten spec, and the merged /openapi.json."""

from django.urls import path

from gateway_project.docs_hub import views

urlpatterns = [
    path("docs", views.hub, name="docs-hub"),
    path("docs/specs/<str:name>.json", views.spec, name="docs-spec"),
    path("openapi.json", views.openapi, name="openapi"),
]
