"""The catalog: products, stock and reservations; ready() registers its scrape-time gauge."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "product_service.catalog"
    label = "catalog"
    verbose_name = "Catalog and inventory"

    def ready(self) -> None:
        from product_service.catalog.metrics import register  # scrape-time gauges (alerts)

        register()
