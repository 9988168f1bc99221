"""Each service's admin under /admin/<name>/ as well as /admin/, and one sign-on for all.

Through the gateway the four admins share one host: the gateway's own is /admin/, each
service's /admin/<name>/ (its static files under /static/<name>/, its STATIC_URL). A
request under /admin/<name>/ is served with a URLconf whose admin is mounted there, so
every link, redirect and form the admin builds stays under that prefix; on the service's
own port /admin/ keeps working. Session and CSRF cookies carry the project's name and the
path of the admin that set them: signing into one admin signs out no other.

Single sign-on: a successful admin login leaves an `admin_sso` cookie (path /admin/,
HttpOnly) holding an access token of the user service, which it issued (common.sso) or
this project minted as that service. Another admin that finds no session of its own but
that cookie verifies the token offline and signs the staff user in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import login, user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, URLResolver, get_resolver, path
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from rest_framework_simplejwt.exceptions import TokenError

from common.jwt import AccessToken

SSO_COOKIE = "admin_sso"
SSO_COOKIE_PATH = "/admin/"
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
        match = get_resolver(urlconf).resolve(path_info)
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
            request.urlconf = mounted
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
    """Signs a staff user in by the SSO cookie on admin paths. After AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(SSO_COOKIE_PATH) and sign_in_by_cookie(request):
            # The admin's login page sends a signed-in user to its index, not to `next`.
            wanted = request.GET.get("next", "")
            if request.path_info.endswith("/login/") and url_has_allowed_host_and_scheme(
                wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return HttpResponseRedirect(wanted)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from common.sso import throttled_login_response

        return throttled_login_response(request, exception)


def sign_in_by_cookie(request: HttpRequest) -> bool:
    """No session here but a valid SSO cookie of a staff user: sign that user in."""
    user = getattr(request, "user", None)
    raw = request.COOKIES.get(SSO_COOKIE)
    if raw is None or user is None or user.is_authenticated:
        return False
    try:
        token = AccessToken(raw)
    except TokenError:
        request.admin_sso_forget = True
        return False
    from common.sso import account_is_staff, user_for_claims  # sso imports the service client

    own_accounts = bool(getattr(settings, "ADMIN_SSO_ISSUER", ""))
    found = user_for_claims(token, own_accounts=own_accounts)
    if found is None:
        return False
    if not own_accounts and not account_is_staff(found.get_username()):
        # The cookie's token outlives a demotion: the user service's word now decides.
        request.admin_sso_forget = True
        return False
    request.admin_sso_via_cookie = True
    login(request, found, backend=settings.AUTHENTICATION_BACKENDS[-1])
    return True


def _sso_cookie_on(request: HttpRequest, response: HttpResponse) -> None:
    token = getattr(request, "admin_sso_token", None)
    if token is not None:
        response.set_cookie(
            SSO_COOKIE,
            token,
            max_age=max(0, int(AccessToken(token)["exp"] - time.time())),
            path=SSO_COOKIE_PATH,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    elif getattr(request, "admin_sso_forget", False):
        response.delete_cookie(SSO_COOKIE, path=SSO_COOKIE_PATH, samesite="Lax")


@receiver(user_logged_in)
def _remember_sign_in(sender: object, request: HttpRequest | None, user: object, **kwargs) -> None:
    """A password sign-in to an admin: leave the SSO cookie for the other admins."""
    if request is None or getattr(request, "admin_sso_via_cookie", False):
        return
    if getattr(request, "admin_sso_token", None) is None:
        factory = getattr(settings, "ADMIN_SSO_ISSUER", "")
        if factory and getattr(user, "is_staff", False):
            request.admin_sso_token = str(import_string(factory)(user))


@receiver(user_logged_out)
def _forget_sign_in(sender: object, request: HttpRequest | None, **kwargs) -> None:
    if request is not None:
        request.admin_sso_token = None
        request.admin_sso_forget = True
