"""A minimal project to test the shared mechanism with (as the gateway would configure it)."""

from common.settings import *  # noqa: F403 -- the shared base
from common.settings import service_settings

globals().update(service_settings("gateway"))
ROOT_URLCONF = "common.tests.urls"
