"""A minimal project to test the shared mechanism with (as the gateway would configure it)."""

from common.settings.base import *  # noqa: F403 -- the shared base
from common.settings.base import service_settings

globals().update(service_settings("gateway"))
ROOT_URLCONF = "common.tests.urls"
