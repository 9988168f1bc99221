"""Every identity change (password, is_active, is_staff, is_superuser), by every path a
person has, bumps the credential version and revokes the user's access tokens at the edge.

The gateway refuses a token when common.identity.revocation.token_is_revoked says so (it reads the
record this service writes: Redis under the shared prefix, or this process's memory
without Redis); these tests ask it with no lookup remembered (LOOKUP_CACHE_SECONDS = 0),
as the gateway sees the record once LOOKUP_CACHE_SECONDS have passed.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client

from common.identity import revocation
from common.identity.revocation import token_is_revoked
from common.testing import authorization, wait_until
from user_service.accounts.models import User
from user_service.accounts.tokens import access_token_for
from user_service.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_remembered_lookups(monkeypatch):
    monkeypatch.setattr(revocation, "LOOKUP_CACHE_SECONDS", 0.0)


NEW_PASSWORD = "a much better passphrase 42"
ADMIN = "/admin/users/accounts/user/"
CREDENTIALS = {"username": "ops", "password": PASSWORD}


@pytest.fixture
def staff(db) -> User:
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(db) -> Client:
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(root)
    return browser


def old_token(user: User) -> dict:
    token = access_token_for(user)
    issued = token.payload[revocation.ISSUED_MS_CLAIM]
    # The change comes after the token was issued: once the ms clock has moved on.
    wait_until(lambda: int(time.time() * 1000) > issued, every=0.001)
    return token.payload


def refused_at_the_edge(payload: dict) -> bool:
    return token_is_revoked(payload)


def version_of(user: User) -> int:
    return User.objects.get(pk=user.pk).credential_version


def change_form(user: User, **changes: object) -> dict:
    """The admin change form's fields as they are, with `changes` applied."""
    stored = User.objects.get(pk=user.pk)
    data = {
        "username": stored.username,
        "first_name": stored.first_name,
        "last_name": stored.last_name,
        "email": stored.email,
        "is_active": stored.is_active,
        "is_staff": stored.is_staff,
        "is_superuser": stored.is_superuser,
        "date_joined_0": stored.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": stored.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not False}


@pytest.mark.parametrize("field", ["is_staff", "is_superuser", "is_active"])
def test_the_admin_change_form_revokes(admin_client, staff, field):
    payload, before = old_token(staff), version_of(staff)

    response = admin_client.post(f"{ADMIN}{staff.pk}/change/", change_form(staff, **{field: False}))

    assert response.status_code == HTTPStatus.FOUND, response.content[:2000]
    assert getattr(User.objects.get(pk=staff.pk), field) is False
    assert version_of(staff) == before + 1
    assert refused_at_the_edge(payload)


def test_the_admin_change_form_without_identity_changes_revokes_nothing(admin_client, staff):
    payload, before = old_token(staff), version_of(staff)

    response = admin_client.post(f"{ADMIN}{staff.pk}/change/", change_form(staff, first_name="O"))

    assert response.status_code == HTTPStatus.FOUND
    assert version_of(staff) == before
    assert not refused_at_the_edge(payload)


def test_the_admin_password_form_revokes(admin_client, staff):
    payload, before = old_token(staff), version_of(staff)

    response = admin_client.post(
        f"{ADMIN}{staff.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == HTTPStatus.FOUND, response.content[:2000]
    assert version_of(staff) == before + 1
    assert refused_at_the_edge(payload)


def test_the_admin_deactivate_action_revokes(admin_client, staff):
    payload = old_token(staff)

    response = admin_client.post(
        ADMIN, {"action": "deactivate", "_selected_action": [staff.pk], "index": 0}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert User.objects.get(pk=staff.pk).is_active is False
    assert refused_at_the_edge(payload)


def test_the_password_change_api_revokes(api_client, staff):
    login = api_client.post("/users/login", CREDENTIALS, format="json")
    access = login.json()["access"]
    payload, before = old_token(staff), version_of(staff)

    response = api_client.post(
        "/users/password",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
        headers=authorization(access),
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert version_of(staff) == before + 1
    assert refused_at_the_edge(payload)


@pytest.mark.parametrize(
    "change",
    [
        lambda user: user.set_password(NEW_PASSWORD),
        lambda user: setattr(user, "is_staff", False),
        lambda user: setattr(user, "is_superuser", False),
        lambda user: setattr(user, "is_active", False),
    ],
    ids=["password", "is_staff", "is_superuser", "is_active"],
)
def test_a_save_from_the_shell_revokes(staff, change):
    payload, before = old_token(staff), version_of(staff)
    user = User.objects.get(pk=staff.pk)  # as `manage.py shell` would

    change(user)
    user.save()

    assert version_of(staff) == before + 1
    assert refused_at_the_edge(payload)


def test_the_changepassword_command_revokes(staff):
    payload, before = old_token(staff), version_of(staff)

    with mock.patch("getpass.getpass", return_value=NEW_PASSWORD):
        call_command("changepassword", "ops", stdout=mock.MagicMock())

    assert User.objects.get(pk=staff.pk).check_password(NEW_PASSWORD)
    assert version_of(staff) == before + 1
    assert refused_at_the_edge(payload)


def test_a_login_that_upgrades_the_password_hash_revokes_nothing(api_client, staff, settings):
    payload = old_token(staff)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",  # the new default: a rehash
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]

    login = api_client.post("/users/login", CREDENTIALS, format="json")

    assert login.status_code == HTTPStatus.OK
    assert User.objects.get(pk=staff.pk).password.startswith("scrypt$")
    assert not refused_at_the_edge(payload)


def test_a_bulk_update_bypasses_save_as_documented(staff):
    """queryset.update() runs no save(): docs/security.md (threat 7) says so and names
    the way out (save each, or user_deactivate)."""
    payload, before = old_token(staff), version_of(staff)

    User.objects.filter(pk=staff.pk).update(is_staff=False)

    assert version_of(staff) == before
    assert not refused_at_the_edge(payload)
