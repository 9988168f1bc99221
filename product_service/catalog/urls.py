"""The public product API and the internal reservation API."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from product_service.catalog import views

router = SimpleRouter(trailing_slash=False)
router.register("products", views.ProductViewSet, basename="product")

urlpatterns = [
    path("", include(router.urls)),
    path(
        "internal/reservations",
        views.ReservationCreateView.as_view(),
        name="reservation-create",
    ),
    path(
        "internal/reservations/<str:order_ref>/release",
        views.ReservationReleaseView.as_view(),
        name="reservation-release",
    ),
]
