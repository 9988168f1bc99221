"""The purge endpoint the product service calls after every change it commits."""

from django.urls import path

from gateway_project.response_cache.views import CachePurgeView

urlpatterns = [path("internal/cache/purge", CachePurgeView.as_view(), name="cache-purge")]
