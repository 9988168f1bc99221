"""A canary for the parts of Django's request handler that common.http.handler_internals
builds on (listed at the top of that module; used by the gateway's dispatcher and the API
path).

The dispatcher does what `WSGIHandler.__call__` and `get_response` do, less the signals
and the script prefix; the API path builds a middleware chain as `load_middleware` does.
If a Django release adds a step to those functions or reshapes the chain, the copy would
silently miss it: this fails here, naming the function to read again.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import django
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import RequestFactory, override_settings

from common.http.api_path import DEFAULT_API_PATH_MIDDLEWARE
from common.http.handler_internals import (
    MatchedRequestHandler,
    close_without_signal,
    finish_as_the_handler_does,
)

LOOK = (
    "Django {version} changed {what}: common/http/handler_internals.py relies on it (see "
    "its docstring; docs/performance.md, 'Framework bypasses'): compare it with {where} "
    "and adapt that module (gateway_project/proxy/dispatch.py, common/http/api_path.py), "
    "or let them use Django's handler as it is."
)


def _changed(what: str, where: str) -> str:
    return LOOK.format(version=django.get_version(), what=what, where=where)


def _statements(function) -> list[str]:
    """The function's statements, as source lines (comments and docstring left out)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [ast.unparse(statement).splitlines()[0] for statement in body]


def test_get_response_is_still_the_urlconf_the_chain_the_closer_and_the_error_log():
    where = "BaseHandler.get_response (django/core/handlers/base.py)"
    assert _statements(BaseHandler.get_response) == [
        "set_urlconf(settings.ROOT_URLCONF)",
        "response = self._middleware_chain(request)",
        "response._resource_closers.append(request.close)",
        "if response.status_code >= 400:",
        "return response",
    ], _changed("get_response's steps", where)


def test_the_wsgi_handler_still_does_what_the_dispatcher_does_or_skips():
    where = "WSGIHandler.__call__ (django/core/handlers/wsgi.py)"
    assert _statements(WSGIHandler.__call__) == [
        "set_script_prefix(get_script_name(environ))",
        "signals.request_started.send(sender=self.__class__, environ=environ)",
        "request = self.request_class(environ)",
        "response = self.get_response(request)",
        "response._handler_class = self.__class__",
        "status = '%d %s' % (response.status_code, response.reason_phrase)",
        "response_headers = [*response.items(), *(('Set-Cookie', c.output(header='')) for c "
        "in response.cookies.values())]",
        "start_response(status, response_headers)",
        "if getattr(response, 'file_to_stream', None) is not None and "
        "environ.get('wsgi.file_wrapper'):",
        "return response",
    ], _changed("WSGIHandler.__call__'s steps", where)


def test_a_responses_close_still_runs_its_closers_then_sends_request_finished():
    where = "HttpResponseBase.close (django/http/response.py)"
    source = inspect.getsource(HttpResponseBase.close)
    assert "for closer in self._resource_closers:" in source, _changed("close()", where)
    assert "signals.request_finished.send(sender=self._handler_class)" in source, _changed(
        "close()'s signal", where
    )
    request = RequestFactory().get("/x")
    closed = []
    response = HttpResponse(b"body")
    response._resource_closers.append(lambda: closed.append("response"))
    request.close = lambda: closed.append("request")

    close_without_signal(response, request)
    assert closed == ["response", "request"]
    assert response._resource_closers == [], _changed("_resource_closers", where)

    finish_as_the_handler_does(response, request)
    assert response._handler_class is WSGIHandler
    assert response._resource_closers == [request.close]


def _chain(handler) -> list[type]:
    """The classes of the middleware along a chain built by `load_middleware`."""
    found = []
    step = handler._middleware_chain
    while (instance := getattr(step, "__wrapped__", None)) is not None:
        if inspect.ismethod(instance):  # the innermost: BaseHandler._get_response
            found.append(instance.__func__)
            break
        found.append(type(instance))
        step = instance.get_response
    return found


def _hooks(handler) -> list[list[tuple[type, str]]]:
    return [
        [(type(method.__self__), method.__name__) for method in methods]
        for methods in (
            handler._view_middleware,
            handler._template_response_middleware,
            handler._exception_middleware,
        )
    ]


def test_load_middleware_builds_the_chain_the_api_path_builds():
    where = "BaseHandler.load_middleware (django/core/handlers/base.py)"
    middleware = [
        *DEFAULT_API_PATH_MIDDLEWARE,
        "django.middleware.csrf.CsrfViewMiddleware",  # process_view
    ]
    with override_settings(MIDDLEWARE=middleware):
        django_handler = BaseHandler()
        django_handler.load_middleware()
    ours = MatchedRequestHandler(middleware)

    assert callable(getattr(django_handler, "_middleware_chain", None)), _changed(
        "_middleware_chain (load_middleware no longer sets it)", where
    )
    assert _chain(django_handler) == _chain(ours), _changed("the chain's shape", where)
    assert _chain(ours)[-1] is BaseHandler._get_response, _changed("_get_response", where)
    assert len(_chain(ours)) == len(middleware) + 1
    assert _hooks(django_handler) == _hooks(ours), _changed("the middleware hooks' lists", where)
    assert _hooks(ours)[0], "the sample has a process_view"


def test_the_view_is_still_found_by_resolve_request():
    where = "BaseHandler._get_response (django/core/handlers/base.py)"
    assert "self.resolve_request(request)" in inspect.getsource(BaseHandler._get_response), (
        _changed("how _get_response finds the view", where)
    )
    assert list(inspect.signature(BaseHandler.resolve_request).parameters) == [
        "self",
        "request",
    ], _changed("resolve_request's signature", where)
