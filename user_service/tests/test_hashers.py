"""Argon2id with OWASP's parameters; hashes made with Django's defaults still verify and
are re-hashed at the next successful login."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password

from user_service.accounts.models import User
from user_service.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

OWASP = "argon2$argon2id$v=19$m=19456,t=2,p=1$"
DJANGO_DEFAULT = "argon2$argon2id$v=19$m=102400,t=2,p=8$"


@pytest.fixture
def argon2(settings):
    settings.PASSWORD_HASHERS = [
        "common.identity.hashers.OWASPArgon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


def test_new_passwords_use_owasp_parameters(argon2):
    assert make_password(PASSWORD).startswith(OWASP)


def test_an_old_hash_verifies_and_is_upgraded_at_login(argon2, api_client):
    user = UserFactory(username="old")
    user.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    user.save(update_fields=["password"])
    assert user.password.startswith(DJANGO_DEFAULT)

    response = api_client.post(
        "/users/login", {"username": "old", "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert User.objects.get(pk=user.pk).password.startswith(OWASP)


def test_a_wrong_password_leaves_an_old_hash_alone(argon2, api_client):
    user = UserFactory(username="old")
    user.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    user.save(update_fields=["password"])

    response = api_client.post(
        "/users/login", {"username": "old", "password": "wrong"}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert User.objects.get(pk=user.pk).password.startswith(DJANGO_DEFAULT)
