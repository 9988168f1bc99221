"""JSON log lines, one object per line, each carrying the service and the request id.

`log_fields` (the access line) is the only code that goes around logging's own path: it
walks the logger tree itself and writes to the console handler's stream. It relies on:
- `Logger.handlers`, `.propagate`, `.parent`, `.filters`, `.disabled`: a record reaches
  each handler up the tree while `propagate` holds, as `Logger.callHandlers` goes;
- a handler's `level`, `filters` and `formatter`, and `StreamHandler`'s `stream`, `lock`,
  `terminator` and `handleError`: `emit` writes `format(record) + terminator` and flushes;
- `LogRecord.created` from `time.time()` (the `ts` written).
common/tests/test_logging_internals.py is their canary: the line written here must be
the one `logger.log` writes through the configured handler, byte for byte.
"""

from __future__ import annotations

import json
import logging
import math
import time
import traceback
from datetime import UTC, datetime
from typing import Any, TextIO, cast

from common.observability.context import request_id_var

# Attributes every LogRecord has; anything else was passed in `extra=` and is logged.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "service", "request_id"}


class RequestIdFilter(logging.Filter):
    def __init__(self, service: str = "-") -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        request_id = request_id_var.get()
        if request_id == "-":
            # Django logs a 4xx/5xx answer ("Service Unavailable: /products/1") after the
            # middleware has returned, with the request attached: its id is still known.
            request_id = getattr(getattr(record, "request", None), "request_id", request_id)
        record.request_id = request_id
        return True


class GunicornServerFilter(logging.Filter):
    """gunicorn writes its start-up and worker lines ("Listening at", "Booting worker") to
    its `gunicorn.error` logger at INFO: below WARNING they are tagged `gunicorn`, so no
    one reads an error into them; warnings and errors keep `gunicorn.error`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "gunicorn.error" and record.levelno < logging.WARNING:
            record.name = "gunicorn"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "service": getattr(record, "service", "-"),
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).strip()
        return json.dumps(entry, default=str)


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


# json.dumps(entry, default=str) builds an encoder per call; the same one, made once.
_encoder = json.JSONEncoder(default=str)
# The last whole second written and its text up to the seconds: one tuple, replaced at
# once, so a thread never reads one second's number with another second's text.
_second: tuple[float, str] = (-1.0, "")


def _fast_timestamp(created: float) -> str:
    """_timestamp's text, the date and time formatted once per second."""
    global _second
    fraction, whole = math.modf(created)
    micros = round(fraction * 1e6)  # rounded as datetime.fromtimestamp rounds
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    second, text = _second
    if whole != second:
        text = datetime.fromtimestamp(whole, UTC).isoformat(timespec="seconds")[:-6]
        _second = (whole, text)
    return f"{text}.{micros // 1000:03d}+00:00"


def _json_console(handler: logging.Handler, level: int) -> RequestIdFilter | None:
    """The handler's RequestIdFilter when it is the JSON console handler that
    settings.logging_config sets up, taking `level`; None for any other handler."""
    if type(handler) is not logging.StreamHandler or level < handler.level:
        return None
    if type(handler.formatter) is not JsonFormatter or len(handler.filters) != 1:
        return None
    found = handler.filters[0]
    return found if type(found) is RequestIdFilter else None


def log_fields(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """`logger.log(level, message, extra=fields)`, written as JsonFormatter writes it.

    One line per request (the access log) went through a LogRecord, its filter, its
    formatter and the handler's plumbing (its cost: docs/performance.md, "Framework
    bypasses"). When every handler the line reaches is the
    JSON console handler, the same object (the same keys in the same order) is written
    straight to its stream; any other handler (a test's caplog, a file, Sentry...) gets
    the record.
    """
    handlers: list[logging.StreamHandler[TextIO]] = []
    found: list[RequestIdFilter] = []
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            request_filter = _json_console(handler, level)
            if request_filter is None:
                logger.log(level, message, extra=fields)
                return
            handlers.append(cast("logging.StreamHandler[TextIO]", handler))  # _json_console's
            found.append(request_filter)
        current = current.parent if current.propagate else None
    if logger.filters or logger.disabled or not handlers:
        logger.log(level, message, extra=fields)
        return
    request_id = request_id_var.get()
    stamp = _fast_timestamp(time.time())
    level_name = logging.getLevelName(level)
    for handler, request_filter in zip(handlers, found, strict=True):
        entry = {
            "ts": stamp,
            "level": level_name,
            "service": request_filter.service,
            "request_id": request_id,
            "logger": logger.name,
            "message": message,
        }
        for key, value in fields.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        line = _encoder.encode(entry) + handler.terminator
        with handler.lock:  # type: ignore[union-attr]  # Handler.__init__ made it
            try:
                handler.stream.write(line)
                handler.stream.flush()
            except Exception:  # as StreamHandler.emit: report, never fail the request
                handler.handleError(logging.makeLogRecord({"msg": message, "name": logger.name}))
