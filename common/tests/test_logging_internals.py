"""A canary for the parts of the standard library's logging that
common.observability.logging.log_fields builds on (listed at the top of that module).

`log_fields` walks the logger tree itself (`handlers`, `propagate`, `parent`, each
handler's `level`, `filters`, `formatter`) and writes the JSON line to the console
handler's `stream` under its `lock`, instead of `logger.log(...)`. If a Python release
changes how a record reaches its handlers or how StreamHandler writes it, the line
written here would silently differ from the one logging writes: this fails, naming it.
"""

from __future__ import annotations

import io
import logging
import sys
import time
from decimal import Decimal

import pytest
from django.utils.module_loading import import_string

from common.observability.context import request_id_var
from common.observability.logging import log_fields
from common.settings.base import logging_config

LOOK = (
    "Python {version}'s logging changed {what}: common/observability/logging.py's "
    "log_fields relies on it (see its docstring; docs/performance.md, 'Framework "
    "bypasses'): adapt log_fields or let it call logger.log."
)
FIELDS = {
    "method": "GET",
    "path": "/products/7",
    "status": 200,
    "duration_ms": 1.25,
    "user_id": None,
    "client_ip": "127.0.0.1",
    "route": "/products/{id}",
    "price": Decimal("9.90"),  # written by the encoder's default=str
    "note": 'naïve \u2603 "quoted" 100%',
    "_private": "never written",
}


def _changed(what: str) -> str:
    return LOOK.format(version=sys.version.split()[0], what=what)


def _console_handler(stream: io.StringIO) -> logging.Handler:
    """The console handler as settings.logging_config describes it, on `stream`."""
    config = logging_config("products")
    console = config["handlers"]["console"]
    handler = import_string(console["class"])(stream)
    formatter = config["formatters"][console["formatter"]]
    handler.setFormatter(import_string(formatter["()"])())
    for name in console["filters"]:
        spec = dict(config["filters"][name])
        handler.addFilter(import_string(spec.pop("()"))(**spec))
    return handler


def _tree(stream: io.StringIO) -> logging.Logger:
    """`canary.access` under a parent holding the handler, outside logging's own tree
    (so pytest's capture handlers do not reach it), the way `access` sits under root."""
    parent = logging.Logger("canary", logging.INFO)
    parent.addHandler(_console_handler(stream))
    child = logging.Logger("canary.access")
    child.parent = parent
    return child


def _both(monkeypatch, level: int = logging.INFO, fields=FIELDS) -> tuple[str, str]:
    """What log_fields writes and what logger.log writes, at the same moment."""
    now = 1764850000.123456
    monkeypatch.setattr(time, "time", lambda: now)
    monkeypatch.setattr(time, "time_ns", lambda: int(now * 1e9))  # 3.13's LogRecord
    written = []
    token = request_id_var.set("rid-canary")
    try:
        for write in (log_fields, None):
            stream = io.StringIO()
            logger = _tree(stream)
            if write is None:
                logger.log(level, "GET /products/7 200", extra=fields)
            else:
                write(logger, level, "GET /products/7 200", fields)
            written.append(stream.getvalue())
    finally:
        request_id_var.reset(token)
    return written[0], written[1]


def test_the_line_written_is_the_one_logging_writes_byte_for_byte(monkeypatch):
    fast, slow = _both(monkeypatch)

    assert slow, _changed("the record's way to the handler (logger.log wrote nothing)")
    assert fast == slow, _changed(
        f"the JSON line a record becomes\n  log_fields:  {fast!r}\n  logger.log:  {slow!r}"
    )
    assert fast.endswith("\n")
    assert fast.count("\n") == 1


@pytest.mark.parametrize("propagate", [True, False])
def test_it_walks_the_same_handlers_as_logging(propagate):
    """Up `parent` while `propagate`, as Logger.callHandlers goes."""
    reached = {}
    for write in (log_fields, None):
        streams = [io.StringIO(), io.StringIO()]
        top = logging.Logger("top")
        top.addHandler(_console_handler(streams[0]))
        middle = logging.Logger("top.middle")
        middle.parent = top
        middle.propagate = propagate
        middle.addHandler(_console_handler(streams[1]))
        leaf = logging.Logger("top.middle.leaf")
        leaf.parent = middle
        if write is None:
            leaf.log(logging.INFO, "line", extra={"status": 200})
        else:
            write(leaf, logging.INFO, "line", {"status": 200})
        reached[write] = [len(stream.getvalue().splitlines()) for stream in streams]

    assert reached[None] == [int(propagate), 1], _changed("Logger.callHandlers' walk")
    assert reached[log_fields] == reached[None], _changed(
        f"which handlers a record reaches (logger.log: {reached[None]})"
    )


def test_the_handler_parts_it_uses_are_still_there():
    handler = _console_handler(io.StringIO())

    assert type(handler) is logging.StreamHandler, _changed("the console handler's class")
    for name in ("stream", "lock", "terminator", "level", "filters", "formatter"):
        assert hasattr(handler, name), _changed(f"StreamHandler.{name} (it is gone)")
    assert handler.terminator == "\n", _changed("StreamHandler.terminator")
    assert callable(handler.handleError), _changed("Handler.handleError")
    for name in ("handlers", "parent", "propagate", "filters", "disabled"):
        assert hasattr(logging.Logger("x"), name), _changed(f"Logger.{name} (it is gone)")
