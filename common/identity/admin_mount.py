"""Each service's admin under /admin/<name>/ as well as /admin/, and one sign-on for all.

Through the gateway the four admins share one host: the gateway's own is /admin/, each
service's /admin/<name>/ (its static files under /static/<name>/, its STATIC_URL). A
request under /admin/<name>/ is served with a URLconf whose admin is mounted there, so
every link, redirect and form the admin builds stays under that prefix; on the service's
own port /admin/ keeps working. Session and CSRF cookies carry the project's name and the
path of the admin that set them: signing into one admin signs out no other.

Single sign-on: a successful admin login leaves an `admin_sso` cookie (path /admin/,
HttpOnly) holding the user service's sign-on credential (common.identity.jwt.AdminSignOnToken, not
an API token). Another admin that finds no session of its own but that cookie signs the
staff user in once the user service confirms it (common.identity.sso); every admin session is
re-checked there, and signing out of one admin signs out of all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, URLResolver, get_resolver, path
from django.utils.http import url_has_allowed_host_and_scheme

from common.identity.jwt import SSO_COOKIE as SSO_COOKIE  # where the credential rides, also sso's
from common.identity.jwt import SSO_COOKIE_PATH as SSO_COOKIE_PATH
from common.identity.jwt import AdminSignOnToken

_HANDLERS = ("handler400", "handler403", "handler404", "handler500")


def admin_prefix() -> str:
    """`/admin/products/` on a service; empty on the gateway, whose admin is /admin/."""
    name = settings.SERVICE_NAME
    return "" if name == "gateway" else f"/admin/{name}/"


class MountedURLconf:
    """The project's root URLconf with the admin at `prefix` instead of /admin/."""

    def __init__(self, root: str, prefix: str) -> None:
        module = import_module(root)
        self.urlpatterns = [
            path(prefix.lstrip("/"), admin.site.urls) if _is_admin(pattern) else pattern
            for pattern in module.urlpatterns
        ]
        for name in _HANDLERS:
            if hasattr(module, name):
                setattr(self, name, getattr(module, name))


def _is_admin(pattern: object) -> bool:
    return isinstance(pattern, URLResolver) and pattern.namespace == admin.site.name


def _serves(urlconf: MountedURLconf, path_info: str) -> bool:
    """Whether the mounted admin has a page at this path: `/admin/orders/order/` on the
    order service's own port is the `orders` app's changelist at /admin/, not a page of
    the admin mounted at /admin/orders/ (whose catch-all would answer it)."""
    try:
        match = get_resolver(urlconf).resolve(path_info)  # type: ignore[arg-type]  # a module-like
    except Resolver404:
        return False
    return getattr(match.func, "__name__", "") != "catch_all_view"


@cache
def mounted_urlconf(root: str, prefix: str) -> MountedURLconf:
    return MountedURLconf(root, prefix)


class AdminMountMiddleware:
    """Serves /admin/<name>/ with the mounted URLconf and scopes the admin's cookies to the
    admin that set them. Before SessionMiddleware and CsrfViewMiddleware: it sees the
    cookies they set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = admin_prefix()
        self.cookies = (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        cookie_path = None
        path_info = request.path_info
        mounted = mounted_urlconf(settings.ROOT_URLCONF, self.prefix) if self.prefix else None
        if (
            mounted is not None
            and path_info.startswith(self.prefix)
            and _serves(mounted, path_info)
        ):
            request.urlconf = mounted  # type: ignore[attr-defined]  # Django reads it; unstubbed
            cookie_path = self.prefix
        elif self.prefix and path_info.startswith(SSO_COOKIE_PATH):
            cookie_path = SSO_COOKIE_PATH
        response = self.get_response(request)
        if cookie_path:
            for name in self.cookies:
                if name in response.cookies:
                    response.cookies[name]["path"] = cookie_path
        _sso_cookie_on(request, response)
        return response


class AdminSingleSignOnMiddleware:
    """Ends a session whose sign-on no longer holds (common.identity.sso), and signs a staff user
    in by the SSO cookie on admin paths. After AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from common.identity import sso  # sso imports the service client

        # Every page a session opens (the admin, the gateway's dashboard) re-checks it.
        if request.user.is_authenticated and not sso.session_still_signed_on(request):
            sso.end_stale_session(request)
        if not request.path_info.startswith(SSO_COOKIE_PATH):
            return self.get_response(request)
        if not request.user.is_authenticated and sso.sign_in_by_cookie(request):
            # The admin's login page sends a signed-in user to its index, not to `next`.
            wanted = request.GET.get("next", "")
            if request.path_info.endswith("/login/") and url_has_allowed_host_and_scheme(
                wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return HttpResponseRedirect(wanted)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from common.identity.sso import throttled_login_response

        return throttled_login_response(request, exception)


def _sso_cookie_on(request: HttpRequest, response: HttpResponse) -> None:
    token = getattr(request, "admin_sso_token", None)
    if token is not None:
        response.set_cookie(
            SSO_COOKIE,
            token,
            max_age=max(0, int(AdminSignOnToken(token)["exp"] - time.time())),
            path=SSO_COOKIE_PATH,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    elif getattr(request, "admin_sso_forget", False):
        response.delete_cookie(SSO_COOKIE, path=SSO_COOKIE_PATH, samesite="Lax")


@receiver(user_logged_in)
def _remember_sign_in(
    sender: object, request: HttpRequest | None, user: object, **kwargs: Any
) -> None:
    """A password sign-in to an admin: bind the session to its sign-on credential and
    leave that in the SSO cookie for the other admins."""
    if request is None or getattr(request, "admin_sso_via_cookie", False):
        return
    from common.identity import sso

    token = getattr(request, "admin_sso_token", None)
    if token is None:
        token = request.admin_sso_token = sso.issue_sign_on(user)  # type: ignore[attr-defined]
    if token is not None:
        sso.remember_sign_on(request, token)


@receiver(user_logged_out)
def _forget_sign_in(sender: object, request: HttpRequest | None, **kwargs: Any) -> None:
    """Single logout: signing out of one admin spends the sign-on for all of them."""
    if request is not None:
        if not getattr(request, "admin_sso_ended", False):
            from common.identity import sso

            sso.sign_out(request)
        request.admin_sso_token = None  # type: ignore[attr-defined]  # the request's own
        request.admin_sso_forget = True  # type: ignore[attr-defined]
