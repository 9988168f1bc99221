"""The order service's URLs: the shared ops endpoints and the orders API."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from common.urls import *  # noqa: F403 -- the JSON error handlers
from common.urls import ops_urlpatterns
from order_service.orders.views import OrderViewSet

router = SimpleRouter(trailing_slash=False)
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [*ops_urlpatterns(), path("", include(router.urls))]
