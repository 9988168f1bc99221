"""Login limits: per (username, client IP) plus a looser per-username cap, atomic, and
working with Redis down; POST /users/password's old_password guesses are counted too."""

from __future__ import annotations

import sys
import threading
from http import HTTPStatus

import pytest
from django.test import override_settings
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from common.limits.counters import DatabaseWindowCounter
from common.testing import ManualClock, authorization
from user_service.accounts.throttles import LoginRateThrottle
from user_service.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

# A Redis nobody listens on: every command fails at once (connection refused).
DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "KEY_PREFIX": "dead",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


def login(api_client, username, password=PASSWORD, ip="192.0.2.1"):
    return api_client.post(
        "/users/login",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=ip,
    )


def test_a_guesser_from_one_address_does_not_lock_out_the_user_elsewhere(
    api_client, alice, settings
):
    settings.USERS_RATE_LOGIN = "3/min"

    guesses = [login(api_client, "alice", "wrong", ip="203.0.113.66").status_code for _ in range(5)]
    from_home = login(api_client, "alice", ip="198.51.100.7")

    assert guesses == [HTTPStatus.UNAUTHORIZED] * 3 + [HTTPStatus.TOO_MANY_REQUESTS] * 2
    assert from_home.status_code == HTTPStatus.OK


def test_the_per_username_cap_stops_guessing_from_many_addresses(api_client, alice, settings):
    settings.USERS_RATE_LOGIN = "3/min"
    settings.USERS_RATE_LOGIN_USER = "5/h"

    spread = [
        login(api_client, "alice", "wrong", ip=f"203.0.113.{n}").status_code for n in range(5)
    ]
    capped = login(api_client, "alice", ip="198.51.100.7")

    assert spread == [HTTPStatus.UNAUTHORIZED] * 5
    assert capped.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 1 <= int(capped["Retry-After"]) <= 3600


def test_the_gateway_forwarded_client_address_is_the_one_counted(api_client, alice, settings):
    """Behind the gateway (a trusted private peer) the client is X-Forwarded-For's last entry."""
    settings.USERS_RATE_LOGIN = "2/min"
    for _ in range(2):
        api_client.post(
            "/users/login",
            {"username": "alice", "password": "wrong"},
            format="json",
            REMOTE_ADDR="10.0.0.2",
            headers={"X-Forwarded-For": "203.0.113.66"},
        )

    blocked = api_client.post(
        "/users/login",
        {"username": "alice", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.2",
        headers={"X-Forwarded-For": "203.0.113.66"},
    )
    other_client = api_client.post(
        "/users/login",
        {"username": "alice", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.2",
        headers={"X-Forwarded-For": "198.51.100.7"},
    )

    assert blocked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other_client.status_code == HTTPStatus.OK


def test_a_concurrent_burst_passes_exactly_the_limit(settings):
    settings.USERS_RATE_LOGIN = "10/min"
    factory = APIRequestFactory()
    barrier = threading.Barrier(40)
    results: list[bool] = []

    def attempt() -> None:
        django_request = factory.post(
            "/users/login", {"username": "burst", "password": "x"}, format="json"
        )
        request = Request(django_request, parsers=[JSONParser()])
        barrier.wait()
        results.append(LoginRateThrottle().allow_request(request, None))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as much as possible
    try:
        threads = [threading.Thread(target=attempt) for _ in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)

    assert results.count(True) == 10


def test_a_username_sent_as_a_number_is_refused_and_counted(api_client, settings):
    settings.USERS_RATE_LOGIN = "3/min"
    UserFactory(username="12345")

    as_numbers = [
        api_client.post(
            "/users/login", {"username": 12345, "password": "wrong"}, format="json"
        ).status_code
        for _ in range(3)
    ]
    right_password_as_number = api_client.post(
        "/users/login", {"username": 12345, "password": PASSWORD}, format="json"
    )
    as_string = api_client.post(
        "/users/login", {"username": "12345", "password": PASSWORD}, format="json"
    )

    assert as_numbers == [HTTPStatus.BAD_REQUEST] * 3
    assert right_password_as_number.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert as_string.status_code == HTTPStatus.TOO_MANY_REQUESTS  # one window for both


def test_a_username_as_a_number_never_logs_in(api_client):
    UserFactory(username="12345")

    response = api_client.post(
        "/users/login", {"username": 12345, "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == {"username": ["Not a valid string."]}


def test_old_password_guesses_are_counted_per_user(api_client, tokens, settings):
    settings.USERS_RATE_PASSWORD_CHANGE = "3/15m"

    def change(old: str):
        return api_client.post(
            "/users/password",
            {"old_password": old, "new_password": "a much better passphrase 42"},
            format="json",
            headers=authorization(tokens["access"]),
        )

    guesses = [change(f"guess {n}").status_code for n in range(3)]
    right = change(PASSWORD)

    assert guesses == [HTTPStatus.FORBIDDEN] * 3
    assert right.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert right.json()["type"] == "https://errors.example/login-throttled"


def test_with_redis_down_login_still_works_and_stays_limited(api_client, alice, settings):
    settings.USERS_RATE_LOGIN = "2/min"
    with override_settings(CACHES=DEAD_REDIS):
        ok = login(api_client, "alice")
        wrong = login(api_client, "alice", "wrong")
        limited = login(api_client, "alice")

    assert ok.status_code == HTTPStatus.OK
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_with_redis_down_logout_and_password_change_answer(api_client, tokens, settings):
    with override_settings(CACHES=DEAD_REDIS):
        changed = api_client.post(
            "/users/password",
            {"old_password": PASSWORD, "new_password": "a much better passphrase 42"},
            format="json",
            headers=authorization(tokens["access"]),
        )
        logout = api_client.post("/users/logout", {"refresh": tokens["refresh"]}, format="json")

    assert changed.status_code == HTTPStatus.NO_CONTENT
    assert logout.status_code == HTTPStatus.UNAUTHORIZED  # spent by the password change


def test_the_database_counter_counts_and_opens_a_new_window():
    clock = ManualClock()
    counter = DatabaseWindowCounter(clock=clock.ms)

    counts = [counter.hit("login:t", 80)[0] for _ in range(3)]
    clock.advance(100)  # past the 80 ms window
    after = counter.hit("login:t", 80)

    assert counts == [1, 2, 3]
    assert after[0] == 1
    assert 0 < after[1] <= 80


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_counter_is_atomic_across_connections():
    from django.db import connection

    counter = DatabaseWindowCounter()
    barrier = threading.Barrier(20)
    counts: list[int] = []

    def hit() -> None:
        try:
            barrier.wait()
            counts.append(counter.hit("login:burst", 60_000)[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(counts) == list(range(1, 21))
