from __future__ import annotations

import io
import json
import logging
import re
from http import HTTPStatus

import pytest

from common.http.middleware import request_id_from, traceparent_from
from common.observability.context import request_id_var


def test_a_sane_client_request_id_is_kept_and_echoed(client):
    response = client.get("/health/live", headers={"X-Request-ID": "client-abc.123:x"})
    assert response.headers["X-Request-ID"] == "client-abc.123:x"


@pytest.mark.parametrize(
    "sent", ["", "has space", "x" * 200, "bad\nnewline", "<script>", "-leading"]
)
def test_an_insane_request_id_is_replaced(client, sent):
    response = client.get("/health/live", headers={"X-Request-ID": sent})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_a_request_id_is_made_when_none_is_sent(client):
    first = client.get("/health/live").headers["X-Request-ID"]
    second = client.get("/health/live").headers["X-Request-ID"]
    assert first != second


def test_request_id_helper():
    assert request_id_from("abc") == "abc"
    assert request_id_from(None) != request_id_from(None)


def test_traceparent_keeps_the_trace_and_makes_a_new_span():
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    outgoing = traceparent_from(incoming)
    version, trace, span, flags = outgoing.split("-")
    assert (version, trace, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span != "00f067aa0ba902b7"
    assert re.fullmatch(r"[0-9a-f]{16}", span)


@pytest.mark.parametrize("incoming", [None, "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01"])
def test_an_invalid_traceparent_starts_a_new_trace(incoming):
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", traceparent_from(incoming))


def test_trailing_slash_is_served_without_redirect_post_included(client):
    response = client.post("/echo/", data=b'{"a": 1}', content_type="application/json")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"path": "/echo", "method": "POST", "body": '{"a": 1}'}


def test_admin_keeps_its_trailing_slashes(client):
    response = client.get("/admin/login/")
    assert response.status_code == HTTPStatus.OK


def test_access_log_line_carries_request_id_and_fields(client, caplog):
    caplog.set_level(logging.INFO, logger="access")
    client.get("/whoami", headers={"X-Request-ID": "trace-me"})
    [record] = [r for r in caplog.records if r.name == "access"]
    assert record.request_id == "trace-me"
    assert (record.method, record.path, record.status) == ("GET", "/whoami", 401)
    assert record.duration_ms >= 0


def test_request_id_is_reset_after_the_request(client):
    client.get("/health/live", headers={"X-Request-ID": "gone-after"})
    assert request_id_var.get() == "-"


def test_json_formatter_writes_one_object_with_request_id():
    from common.observability.logging import JsonFormatter, RequestIdFilter

    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "hello %s", "args": ("you",), "extra_field": 7}
    )
    token = request_id_var.set("rid-1")
    try:
        RequestIdFilter("users").filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello you"
    assert (line["service"], line["request_id"], line["extra_field"]) == ("users", "rid-1", 7)


def test_django_request_lines_logged_after_the_middleware_keep_the_request_id():
    from types import SimpleNamespace

    from common.observability.logging import RequestIdFilter

    # django.request logs error answers once the middleware chain has returned.
    record = logging.makeLogRecord(
        {"name": "django.request", "msg": "Service Unavailable: /x", "args": ()}
    )
    record.request = SimpleNamespace(request_id="rid-after")
    RequestIdFilter("gateway").filter(record)
    assert record.request_id == "rid-after"

    outside = logging.makeLogRecord({"name": "x", "msg": "no request", "args": ()})
    RequestIdFilter("gateway").filter(outside)
    assert outside.request_id == "-"


def _json_console_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    """A logger wired as settings.logging_config wires the root one, outside the hierarchy
    (so pytest's capture handlers do not reach it)."""
    from common.observability.logging import JsonFormatter, RequestIdFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter("users"))
    logger = logging.Logger(name)
    logger.addHandler(handler)
    return logger, stream


def test_log_fields_writes_the_line_the_formatter_writes():
    from common.observability.logging import log_fields

    fields = {"method": "GET", "path": "/x", "status": 200, "user_id": None, "route": "/x"}
    logger, stream = _json_console_logger("access")
    token = request_id_var.set("rid-7")
    try:
        log_fields(logger, logging.INFO, "GET /x 200", fields)  # straight to the stream
        logger.log(logging.INFO, "GET /x 200", extra=fields)  # through a LogRecord
    finally:
        request_id_var.reset(token)

    fast, slow = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(fast) == list(slow)
    assert {**fast, "ts": "-"} == {**slow, "ts": "-"}
    assert fast["request_id"] == "rid-7"
    assert fast["service"] == "users"


def test_log_fields_hands_other_handlers_a_record():
    from common.observability.logging import log_fields

    logger, stream = _json_console_logger("access")
    records = []
    other = logging.Handler()
    other.emit = records.append
    logger.addHandler(other)

    log_fields(logger, logging.INFO, "GET /x 200", {"status": 200})

    [record] = records
    assert (record.getMessage(), record.status, record.name) == ("GET /x 200", 200, "access")
    assert json.loads(stream.getvalue())["status"] == 200


def test_log_fields_respects_the_handlers_level():
    from common.observability.logging import log_fields

    logger, stream = _json_console_logger("access")
    logger.handlers[0].setLevel(logging.INFO)

    log_fields(logger, logging.DEBUG, "GET /health 200", {"status": 200})

    assert stream.getvalue() == ""


def test_fast_timestamps_are_the_formatters():
    from common.observability.logging import _fast_timestamp, _timestamp

    moments = [1700000000.0, 1700000000.001, 1700000000.9996, 1700000000.4999995, 1764590000.5]
    assert [_fast_timestamp(t) for t in moments] == [_timestamp(t) for t in moments]
