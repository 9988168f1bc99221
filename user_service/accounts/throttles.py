"""The user service's own login limit: per username, because not every login passes the gateway."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle


class LoginRateThrottle(SimpleRateThrottle):
    """USERS_RATE_LOGIN attempts per username, counted on the default cache.

    Works on DRF requests (JSON body) and Django's (the admin's login form), and marks
    the request so the authentication backend does not count the same attempt twice.
    """

    scope = "login"

    def get_rate(self) -> str:
        return settings.USERS_RATE_LOGIN

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        data = getattr(request, "data", None)
        if data is None:
            data = request.POST
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username:
            return None
        django_request: HttpRequest = getattr(request, "_request", request)
        django_request.login_throttle_counted = True
        ident = hashlib.sha256(username.casefold().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}
