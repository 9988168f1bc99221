"""The gateway's WSGI entry: a forwarded request skips the bookkeeping of Django's handler.

Django's `WSGIHandler` sends `request_started` and `request_finished` around every
request (closing stale database connections, the caches' connections, the thread's
URLconf) and sets the script prefix. A forwarded request touches no database, sets no
URLconf and reverses no URL, so for it that is work for nothing (its cost:
docs/performance.md, "Framework bypasses"). `ProxyDispatcher` wraps the handler and
runs the same request object through the same middleware chain without them. The
proxy-path middleware it reaches first (corsheaders, request id, tracing, access log,
trailing slash) is unchanged; when `ProxyFastPathMiddleware` finds that the path is not
a proxy route, it calls `full_handling(request)` before handing the request on, which
does what the handler would have done at the start (script prefix, `request_started`,
URLconf), and the answer is then finished as the handler finishes it (its `close()`
sends `request_finished`). So every page that is not forwarded (admin, docs, dashboard,
health, metrics) runs under Django's full handling, as before. What it reaches of
Django's handler goes through common.http.handler_internals (which lists it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler, get_script_name
from django.http import HttpRequest
from django.urls import set_script_prefix, set_urlconf
from django.utils.log import log_response

from common.http.handler_internals import (
    close_without_signal,
    finish_as_the_handler_does,
    run_middleware_chain,
)

# In the WSGI environ: this request was handed on to Django's full handling.
FULL_HANDLING = "gateway.full_handling"
# In the WSGI environ: the request came through the dispatcher (so a fallback owes
# Django's start-of-request work); absent under the test client and any other handler.
DISPATCHED = "gateway.dispatched"


def full_handling(request: HttpRequest) -> None:
    """What `WSGIHandler.__call__` and `get_response` do before the middleware, for a
    request the dispatcher let in and that turns out not to be forwarded."""
    environ = request.environ  # type: ignore[attr-defined]  # a WSGIRequest's
    if not environ.get(DISPATCHED) or environ.get(FULL_HANDLING):
        return
    environ[FULL_HANDLING] = True
    set_script_prefix(get_script_name(environ))
    signals.request_started.send(sender=WSGIHandler, environ=environ)
    set_urlconf(settings.ROOT_URLCONF)


class ProxyDispatcher:
    """A WSGI app around Django's handler (see the module's docstring)."""

    def __init__(self, handler: WSGIHandler) -> None:
        self.handler = handler

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        handler = self.handler
        environ[DISPATCHED] = True
        set_urlconf(settings.ROOT_URLCONF)
        request = handler.request_class(environ)
        response = run_middleware_chain(handler, request)
        if response.status_code >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        full = environ.get(FULL_HANDLING)
        status = f"{response.status_code} {response.reason_phrase}"
        headers = [
            *response.items(),
            *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
        ]
        if full or response.streaming:
            # As the handler answers: the server's close() of the response runs its
            # closers and sends request_finished.
            finish_as_the_handler_does(response, request)
            start_response(status, headers)
            if getattr(response, "file_to_stream", None) is not None and environ.get(
                "wsgi.file_wrapper"
            ):
                response.file_to_stream.close = response.close
                wrapped: Iterable[bytes] = environ["wsgi.file_wrapper"](
                    response.file_to_stream, response.block_size
                )
                return wrapped
            streamed: Iterable[bytes] = response
            return streamed
        # A forwarded answer is bytes already: sent as they are, its resources closed now.
        body = response.content
        close_without_signal(response, request)
        start_response(status, headers)
        return [body]
