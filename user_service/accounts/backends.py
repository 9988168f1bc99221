from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from user_service.accounts.throttles import LoginRateThrottle


class ThrottledModelBackend(ModelBackend):
    """ModelBackend under the per-username login limit, for logins that skip the API (admin)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        uncounted = request is not None and not getattr(request, "login_throttle_counted", False)
        if uncounted and not LoginRateThrottle().allow_request(request, None):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
