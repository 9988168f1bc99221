"""The gateway's WSGI entry (gateway_project/proxy/dispatch.py): a forwarded request skips
the handler's request_started/request_finished; every other page keeps Django's whole
handling. Called as a WSGI server calls it (the test client uses a handler of its own)."""

from __future__ import annotations

import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signals

from gateway_project.tests.fake_upstream import Reply
from gateway_project.wsgi import application

pytestmark = pytest.mark.django_db


def wsgi_call(path: str, method: str = "GET") -> tuple[str, list, bytes, list[str]]:
    """Status, headers, body and the handler signals sent, as gunicorn would see them."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_HOST": "testserver"}
    setup_testing_defaults(environ)  # the rest of a server's environ (wsgi.*, SERVER_*)
    sent: list[str] = []
    answer: list = []

    def start_response(status: str, headers: list, *exc_info: object) -> None:
        answer.extend([status, headers])

    def started(**kwargs: object) -> None:
        sent.append("started")

    def finished(**kwargs: object) -> None:
        sent.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        result = application(environ, start_response)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    return answer[0], answer[1], body, sent


def test_a_forwarded_request_skips_the_handlers_signals(upstreams):
    status, headers, body, sent = wsgi_call("/products/7")
    assert status == "200 OK"
    assert json.loads(body) == {"service": "products", "method": "GET", "path": "/products/7"}
    assert ("Content-Length", str(len(body))) in headers
    assert dict(headers)["X-Request-ID"]
    assert sent == []


def test_a_forwarded_error_answer_is_sent_as_the_service_sent_it(upstreams):
    upstreams["products"].responder = lambda received: Reply(
        404, b'{"status": 404}', [("Content-Type", "application/problem+json")]
    )
    status, headers, body, sent = wsgi_call("/products/999")
    assert (status, body, sent) == ("404 Not Found", b'{"status": 404}', [])
    assert dict(headers)["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/health/live", "/no/such/page"])
def test_a_page_that_is_not_forwarded_gets_djangos_whole_handling(upstreams, path):
    status, _, _, sent = wsgi_call(path)
    assert status.split()[0] == ("200" if path == "/health/live" else "404")
    assert sent == ["started", "finished"]
    assert upstreams["products"].received == []
