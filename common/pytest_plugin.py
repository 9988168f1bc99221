"""Loaded with `-p common.pytest_plugin` before pytest-django reads any settings."""

from __future__ import annotations

import pytest

from common.testing import set_test_environment_defaults as _defaults

_defaults()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`@pytest.mark.postgres` tests run only where the project's database is PostgreSQL."""
    if item.get_closest_marker("postgres") is None:
        return
    from django.conf import settings

    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL: set this project's *_DATABASE_URL to a postgres:// URL")
