"""The order service's settings: the shared base plus orders and their pending timeout."""

from common.settings.base import *  # noqa: F403 -- the shared base
from common.settings.base import service_settings
from common.settings.env import env

globals().update(service_settings("orders"))
ROOT_URLCONF = "order_service.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "django_filters", "order_service.orders"]  # noqa: F405

# Orders still pending after this many seconds (a crash between reserve and confirm)
# are failed by `manage_all.py orders reconcile`, and their stock released.
ORDERS_PENDING_TIMEOUT = env.int("ORDERS_PENDING_TIMEOUT", default=300)
