"""The product service's settings: the shared base plus the catalog."""

from common.settings.base import *  # noqa: F403 -- the shared base
from common.settings.base import (
    common_namespace,
    logging_config,
    openapi_settings,
    secret_key,
    static_root,
)
from common.settings.env import cache_for, database_for

SERVICE_NAME = "products"
SECRET_KEY = secret_key(SERVICE_NAME)
DATABASES = {"default": database_for(SERVICE_NAME)}
CACHES = {"default": cache_for(SERVICE_NAME)}
# Per project, so the gateway can route /static/<name>/ to each service's admin.
STATIC_ROOT = static_root(SERVICE_NAME)
STATIC_URL = f"/static/{SERVICE_NAME}/"
SESSION_COOKIE_NAME = f"{SERVICE_NAME}_sessionid"
CSRF_COOKIE_NAME = f"{SERVICE_NAME}_csrftoken"
COMMON = common_namespace(SERVICE_NAME)
SPECTACULAR_SETTINGS = openapi_settings(SERVICE_NAME)
LOGGING = logging_config(SERVICE_NAME)
WSGI_APPLICATION = "product_service.wsgi.application"
ROOT_URLCONF = "product_service.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "django_filters", "product_service.catalog"]  # noqa: F405
