from common.settings import *  # noqa: F403 -- the shared base
from common.settings import service_settings

globals().update(service_settings("orders"))
ROOT_URLCONF = "order_service.urls"
