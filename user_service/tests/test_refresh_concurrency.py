"""A refresh token works once, even when every copy of a replay arrives at the same moment.

The barrier holds every thread right after the (non-atomic) blacklist check, so all of them
have seen the token as unspent before any of them spends it: the worst interleaving, every
run. Only the database's unique constraint can then decide, and it must let one through.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from user_service.accounts import services
from user_service.accounts.tokens import RefreshToken, refresh_token_for
from user_service.tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLERS = 8


def race(monkeypatch, attempt) -> list[str]:
    """Run `attempt` in CALLERS threads released together after the blacklist check."""
    barrier = threading.Barrier(CALLERS, timeout=10)
    check_blacklist = RefreshToken.check_blacklist

    def check_then_wait(self):
        check_blacklist(self)
        barrier.wait()

    monkeypatch.setattr(RefreshToken, "check_blacklist", check_then_wait)

    def one_caller(_: int) -> str:
        try:
            attempt()
            return "ok"
        except AuthenticationFailed:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(CALLERS) as pool:
        return sorted(pool.map(one_caller, range(CALLERS)))


def test_concurrent_refreshes_of_one_token_let_exactly_one_through(monkeypatch):
    raw = str(refresh_token_for(UserFactory()))

    outcomes = race(monkeypatch, lambda: services.token_refresh(refresh=raw))

    assert outcomes == ["ok"] + ["refused"] * (CALLERS - 1)


def test_simplejwt_refresh_serializer_lets_a_replay_through(monkeypatch):
    """Why token_refresh exists: the same race defeats simplejwt's own serializer."""
    raw = str(refresh_token_for(UserFactory()))

    class Serializer(TokenRefreshSerializer):
        token_class = RefreshToken

    def attempt() -> None:
        Serializer(data={"refresh": raw}).is_valid(raise_exception=True)

    outcomes = race(monkeypatch, attempt)

    assert outcomes.count("ok") > 1
