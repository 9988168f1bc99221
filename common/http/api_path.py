"""The API's short path through Django: a JSON view skips the middleware of the pages.

Sessions, CSRF, Django's auth, the admin's mount and single sign-on, and messages serve
the admin (and any view that signs in with a session); a DRF view authenticated by
token or by nothing reads none of them. `ApiPathMiddleware` sits after request id,
tracing, metrics, access log, security headers, static files and trailing-slash
handling: a path that resolves to such a view continues through `API_PATH_MIDDLEWARE`
only (CommonMiddleware, X-Frame-Options, the problem safety net, the response metrics),
then to the view as Django's handler calls it (process_view, atomic requests, template
responses, the error handlers); any other path continues down the full chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, get_resolver
from django.utils.module_loading import import_string
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

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


class _ApiPathHandler(BaseHandler):
    """Django's request handling under a shorter middleware list, with the URL match the
    caller already made (the path is resolved once)."""

    def __init__(self, middleware: list[str]) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        # BaseHandler's own view-calling step (not in the stubs).
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for middleware_path in reversed(middleware):
            instance = import_string(middleware_path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        return cast(ResolverMatch, request.resolver_match)  # the caller resolved the path

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return cast(HttpResponse, self._middleware_chain(request))  # a sync chain


class ApiPathMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.api_path = _ApiPathHandler(
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
