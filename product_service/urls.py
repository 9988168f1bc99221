"""The product service's URLs: the shared ops endpoints and the catalog API."""

from django.urls import include, path

from common.urls import *  # noqa: F403 -- the JSON error handlers
from common.urls import ops_urlpatterns

urlpatterns = [*ops_urlpatterns(), path("", include("product_service.catalog.urls"))]
