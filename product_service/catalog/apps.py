from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "product_service.catalog"
    label = "catalog"
    verbose_name = "Catalog and inventory"
