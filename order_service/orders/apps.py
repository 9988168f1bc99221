"""Orders; ready() registers the scrape-time gauge of orders stuck pending."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "order_service.orders"
    label = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from order_service.orders.metrics import register  # scrape-time gauges (alerts)

        register()
