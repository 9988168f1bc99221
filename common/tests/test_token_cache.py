"""Verified access tokens remembered per worker: never past their expiry, any other byte
verified afresh, off with TOKEN_CACHE_SECONDS = 0, forgotten when the trusted keys change."""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import override_settings

from common.identity import auth
from common.testing import access_token, reset_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def verifications(monkeypatch):
    """How many times a token's signature and claims were checked (none remembered yet:
    common.testing.reset_state)."""
    count = [0]
    verify = auth.StatelessJWTAuthentication.get_validated_token

    def counted(self, raw_token):
        count[0] += 1
        return verify(self, raw_token)

    monkeypatch.setattr(auth.StatelessJWTAuthentication, "get_validated_token", counted)
    return count


def _whoami(client, token: str):
    return client.get("/whoami", headers={"Authorization": f"Bearer {token}"})


def test_a_token_is_verified_once_then_remembered(client, verifications):
    token = access_token(user_id=5)
    for _ in range(3):
        assert _whoami(client, token).json()["id"] == 5
    assert verifications[0] == 1


def test_reset_state_verifies_every_token_afresh(client, verifications):
    token = access_token(user_id=5)
    _whoami(client, token)
    reset_state()  # what runs before every test
    _whoami(client, token)
    assert verifications[0] == 2


def test_a_token_differing_in_one_byte_is_verified_afresh(client, verifications):
    token = access_token(user_id=5)
    assert _whoami(client, token).status_code == HTTPStatus.OK
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    response = _whoami(client, forged)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert verifications[0] == 2


def test_a_remembered_token_is_not_served_past_its_exp(client, verifications, monkeypatch):
    token = access_token(user_id=5, lifetime=timedelta(seconds=10))
    assert _whoami(client, token).status_code == HTTPStatus.OK
    later = time.time() + 11  # past exp, within the cache's 30 s
    monkeypatch.setattr(auth.time, "time", lambda: later)
    _whoami(client, token)
    assert verifications[0] == 2  # checked again: the verification decides, not the cache


def test_an_expired_token_is_refused_and_not_remembered(client, verifications):
    token = access_token(user_id=5, lifetime=timedelta(seconds=-60))
    assert _whoami(client, token).status_code == HTTPStatus.UNAUTHORIZED
    assert _whoami(client, token).status_code == HTTPStatus.UNAUTHORIZED
    assert verifications[0] == 2


def test_entries_live_token_cache_seconds_at_most(client, verifications, monkeypatch):
    token = access_token(user_id=5)
    with override_settings(COMMON={**settings.COMMON, "TOKEN_CACHE_SECONDS": 5}):
        assert _whoami(client, token).status_code == HTTPStatus.OK
        soon, later = time.time() + 4, time.time() + 6
        monkeypatch.setattr(auth.time, "time", lambda: soon)
        _whoami(client, token)
        assert verifications[0] == 1
        monkeypatch.setattr(auth.time, "time", lambda: later)
        _whoami(client, token)
        assert verifications[0] == 2


def test_zero_seconds_turns_the_cache_off(client, verifications):
    token = access_token(user_id=5)
    with override_settings(COMMON={**settings.COMMON, "TOKEN_CACHE_SECONDS": 0}):
        for _ in range(2):
            assert _whoami(client, token).status_code == HTTPStatus.OK
    assert verifications[0] == 2


def test_changing_the_trusted_keys_forgets_every_token(client, verifications):
    token = access_token(user_id=5)
    assert _whoami(client, token).status_code == HTTPStatus.OK
    other = override_settings(COMMON={**settings.COMMON, "JWT_PUBLIC_KEYS": ""})
    with other:  # the signing key is no longer trusted
        assert _whoami(client, token).status_code == HTTPStatus.UNAUTHORIZED
    assert verifications[0] == 2
