"""The user service's URLs: the shared ops endpoints and the accounts API."""

from django.urls import include, path

from common.urls import *  # noqa: F403 -- the JSON error handlers
from common.urls import ops_urlpatterns

urlpatterns = [*ops_urlpatterns(), path("", include("user_service.accounts.urls"))]
