"""The user service's own admin login: Django's ModelBackend under the login limits."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from common.identity.sso import AdminLoginThrottled, admin_login_limits
from common.limits.login_limits import limits_hit
from user_service.accounts.throttles import LoginRateThrottle


class ThrottledModelBackend(ModelBackend):
    """ModelBackend under the login limits, for logins that skip the API (the admin).

    Counted there per client IP as at every other admin, then as every login is; over
    a limit, AdminLoginThrottled (429 at the admin's login form, no hash computed).
    """

    # (the credentials as Django hands them on: keywords, whatever their names)
    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, **credentials: Any
    ) -> Any:
        if request is not None and not getattr(request, "login_throttle_counted", False):
            wait = limits_hit(admin_login_limits(request))
            throttle = LoginRateThrottle()
            if wait is None and not throttle.allow_request(request, None):
                wait = throttle.wait() or 1.0
            if wait is not None:
                # Before any hash: the admin answers 429 with the wait (common.identity.sso).
                raise AdminLoginThrottled(wait)
        return super().authenticate(request, **credentials)
