from __future__ import annotations

import pytest

from common.testing import clear_own_cache
from user_service.tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _fast_hasher_and_clean_cache(settings):
    """Argon2 is what runs (see test_password_is_hashed_with_argon2); tests need speed.
    Login limits and revocations start empty (common.testing.reset_state)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    clear_own_cache()
    yield
    clear_own_cache()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def tokens(api_client, alice) -> dict[str, str]:
    """A fresh {access, refresh} pair for alice, obtained by logging in."""
    response = api_client.post(
        "/users/login", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()
