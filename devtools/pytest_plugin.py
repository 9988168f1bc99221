"""Loaded with `-p devtools.pytest_plugin` before pytest-django reads any settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from rest_framework.test import APIClient

REPO_ROOT = Path(__file__).resolve().parent.parent

# Defaults for test runs: development mode, secrets under var/test, own cache keys (the
# shared namespace too: runs side by side on one Redis never see each other's).
os.environ.setdefault("APP_ENV", "development")
os.environ.setdefault("VAR_DIR", str(REPO_ROOT / "var" / "test"))
os.environ.setdefault("CACHE_KEY_PREFIX", f"test{os.getpid()}")
os.environ.setdefault("SHARED_CACHE_PREFIX", f"test{os.getpid()}:shared")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`@pytest.mark.postgres` tests run only where the project's database is PostgreSQL."""
    if item.get_closest_marker("postgres") is None:
        return
    from django.conf import settings

    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL: set this project's *_DATABASE_URL to a postgres:// URL")


@pytest.fixture(autouse=True)
def fresh_process_state() -> None:
    """Each test starts with nothing an earlier one left in the process or in its Redis
    keys (common.testing.reset_state). Only modules already imported can keep anything,
    and they register with common.settings.namespaces; without Django settings (the
    end-to-end suite) nothing here serves requests."""
    if "common.settings.namespaces" in sys.modules and _django_configured():
        from common.testing import reset_state

        reset_state()


def _django_configured() -> bool:
    from django.conf import settings

    return settings.configured


@pytest.fixture
def api_client() -> APIClient:
    """DRF's test client, under the one name every suite uses (end-to-end suites give the
    name their own HTTP client)."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def twin_redis():
    """A private corner of the test run's Redis for a store's Redis twin, emptied after
    (common.testing.TwinRedis)."""
    from common.testing import TwinRedis

    corner = TwinRedis()
    yield corner
    corner.close()
