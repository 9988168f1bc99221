"""The user service's own admin login: Django's ModelBackend under the login limits."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from common.login_limits import limits_hit
from common.sso import admin_login_limits
from user_service.accounts.throttles import LoginRateThrottle


class ThrottledModelBackend(ModelBackend):
    """ModelBackend under the login limits, for logins that skip the API (the admin).

    Counted there per client IP as at every other admin, then as every login is.
    """

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Any:
        uncounted = request is not None and not getattr(request, "login_throttle_counted", False)
        if uncounted and (
            limits_hit(admin_login_limits(request)) is not None
            or not LoginRateThrottle().allow_request(request, None)
        ):
            return None
        return super().authenticate(request, **credentials)
