"""The product service's settings: the shared base plus the catalog."""

from common.settings.base import *  # noqa: F403 -- the shared base
from common.settings.base import service_settings

globals().update(service_settings("products"))
ROOT_URLCONF = "product_service.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "django_filters", "product_service.catalog"]  # noqa: F405
