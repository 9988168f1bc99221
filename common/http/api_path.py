"""The API's short path through Django: a JSON view skips the middleware of the pages.

Sessions, CSRF, Django's auth, the admin's mount and single sign-on, and messages serve
the admin (and any view that signs in with a session); a DRF view authenticated by
token or by nothing reads none of them. `ApiPathMiddleware` sits after request id,
tracing, metrics, access log, security headers, static files and trailing-slash
handling: a path that resolves to such a view continues through `API_PATH_MIDDLEWARE`
only (CommonMiddleware, X-Frame-Options, the problem safety net, the response metrics),
then to the view as Django's handler calls it (process_view, atomic requests, template
responses, the error handlers); any other path continues down the full chain. The
handler of that short chain is common.http.handler_internals' (Django's internals it
relies on are listed there; its cost: docs/performance.md, "Framework bypasses").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from common.http.handler_internals import MatchedRequestHandler

Handler = Callable[[HttpRequest], HttpResponse]

# What an API path still passes through after this middleware, in order.
DEFAULT_API_PATH_MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "common.http.problems.ProblemDetailsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# Views of these packages are pages (Swagger UI) or serve them: the full chain.
PAGE_VIEW_PACKAGES = ("drf_spectacular.",)


def is_api_view(func: Any) -> bool:
    """A DRF view that needs no session: it authenticates by token (or not at all)."""
    view = getattr(func, "cls", None)
    if not (isinstance(view, type) and issubclass(view, APIView)):
        return False
    if view.__module__.startswith(PAGE_VIEW_PACKAGES):
        return False
    return not any(
        isinstance(auth, type) and issubclass(auth, SessionAuthentication)
        for auth in view.authentication_classes
    )


class ApiPathMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.api_path = MatchedRequestHandler(
            getattr(settings, "API_PATH_MIDDLEWARE", DEFAULT_API_PATH_MIDDLEWARE)
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not is_api_view(match.func):
            return self.get_response(request)
        request.resolver_match = match
        return self.api_path(request)
