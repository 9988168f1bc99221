"""The user service's own login limits, because not every login passes the gateway.

An attempt counts on two windows: (username, client IP) at USERS_RATE_LOGIN, so one
client guessing one account is stopped quickly without locking the account for anyone
else, and the username alone at the looser USERS_RATE_LOGIN_USER, against guessing one
account from many addresses. Counted atomically (common.limits.counters), so a concurrent burst
lets exactly the limit through, on every worker and replica.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from common.limits.login_limits import Limit, client_ip, identity, limits_hit


def username_of(request: Any) -> str | None:
    """The username a login request names, as the credentials serializer would read it.

    A JSON number counts as its text: `12345` and `"12345"` share a window (and the
    serializer refuses the number, so it never reaches a password check).
    """
    data = getattr(request, "data", None)
    if data is None:
        data = request.POST
    value = data.get("username") if hasattr(data, "get") else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value) or None


def login_limits(request: HttpRequest, username: str) -> list[Limit]:
    name = identity(username)
    return [
        Limit(f"user-ip:{name}:{client_ip(request)}", settings.USERS_RATE_LOGIN),
        Limit(f"user:{name}", settings.USERS_RATE_LOGIN_USER),
    ]


def password_change_limits(user_id: int) -> list[Limit]:
    return [Limit(f"password:{user_id}", settings.USERS_RATE_PASSWORD_CHANGE)]


class LoginRateThrottle(BaseThrottle):
    """Counts the attempt before any password is hashed; works on DRF and Django requests.

    Marks the request so the authentication backend does not count the same attempt twice.
    """

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        username = username_of(request)
        if username is None:
            return True  # the serializer answers 400: no password is checked
        django_request: HttpRequest = getattr(request, "_request", request)
        django_request.login_throttle_counted = True  # type: ignore[attr-defined]  # the backend's
        self._wait = limits_hit(login_limits(django_request, username))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
