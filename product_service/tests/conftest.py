from __future__ import annotations

import os

import pytest
from django.conf import settings

from common.testing import bearer

# Concurrency tests need real concurrent connections: SQLite's in-memory test database
# (shared cache) answers "table is locked" instead of waiting, so use a WAL file as in
# production. One file per pytest process (removed at its end), so parallel runs of this
# suite never share it.
_database = settings.DATABASES["default"]
if "sqlite" in _database["ENGINE"]:
    _database.setdefault("TEST", {})["NAME"] = str(
        settings.VAR_DIR / f"test_products_{os.getpid()}.sqlite3"
    )


@pytest.fixture
def staff() -> dict[str, str]:
    return bearer(user_id=1, username="root", is_staff=True)


@pytest.fixture
def customer() -> dict[str, str]:
    return bearer(user_id=2, username="alice", is_staff=False)


@pytest.fixture
def service() -> dict[str, str]:
    return {"X-Service-Token": settings.COMMON["SERVICE_TOKEN"]}


@pytest.fixture(autouse=True)
def no_gateway_purges(settings) -> None:
    """No test calls a real gateway (test_cache.py points purges at `responses`)."""
    settings.COMMON = {**settings.COMMON, "GATEWAY_INTERNAL_URL": ""}
