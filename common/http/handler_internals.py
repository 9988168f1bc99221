"""Django's request handler driven in part: the only module that reaches into its internals.

Two bypasses use it (their cost: docs/performance.md, "Framework bypasses"):
- the gateway's WSGI entry (gateway_project/proxy/dispatch.py) runs a forwarded request
  through the loaded middleware chain without `WSGIHandler.__call__`'s and
  `get_response`'s bookkeeping (the signals, the script prefix);
- the API path (common/http/api_path.py) runs Django's handling under a shorter
  middleware list, with the URL match already made.

It relies on (Django 5.2):
- `BaseHandler._middleware_chain`: the chain `load_middleware` builds and `get_response`
  calls, between `set_urlconf(ROOT_URLCONF)` and appending `request.close` to the
  response's closers (then `log_response` for a status >= 400);
- `load_middleware`'s way of building it: each middleware made with the next handler
  wrapped by `convert_exception_to_response`, its `process_view`,
  `process_template_response` and `process_exception` kept in `_view_middleware`,
  `_template_response_middleware` and `_exception_middleware`, the innermost handler
  `_get_response`, which finds the view by `resolve_request(request)`;
- `HttpResponse._handler_class` and `_resource_closers`: what `WSGIHandler.__call__`
  sets so that the server's `close()` runs the closers and sends `request_finished`.
common/tests/test_handler_internals.py is their canary: it fails, naming the part and
the Django function to read, when a Django release changes one of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, cast

from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch
from django.utils.module_loading import import_string

Handler = Callable[[HttpRequest], HttpResponse]


def run_middleware_chain(handler: BaseHandler, request: HttpRequest) -> Any:
    """The loaded handler's middleware chain, called as `get_response` calls it (the
    URLconf set and the error logged by the caller). Any: the caller uses the response's
    private attributes as Django's handler does."""
    return handler._middleware_chain(request)  # type: ignore[attr-defined]  # not in the stubs


def finish_as_the_handler_does(response: Any, request: HttpRequest) -> None:
    """What `get_response` and `WSGIHandler.__call__` leave on a response: the server's
    `close()` then closes the request and sends `request_finished`."""
    response._handler_class = WSGIHandler
    response._resource_closers.append(request.close)


def close_without_signal(response: Any, request: HttpRequest) -> None:
    """Run the response's closers and the request's, as `close()` does, without sending
    `request_finished`."""
    for closer in (*response._resource_closers, request.close):
        with contextlib.suppress(Exception):  # as HttpResponse.close() does
            closer()
    response._resource_closers.clear()


class MatchedRequestHandler(BaseHandler):
    """Django's request handling under `middleware` (dotted paths, outermost first),
    built as `load_middleware` builds it, for a request whose `resolver_match` the caller
    already set (the path is resolved once)."""

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
