from common.settings import *  # noqa: F403 -- the shared base
from common.settings import service_settings

globals().update(service_settings("users"))
ROOT_URLCONF = "user_service.urls"
