"""Loaded with `-p common.pytest_plugin` before pytest-django reads any settings."""

from common.testing import pytest_configure_env

pytest_configure_env()
