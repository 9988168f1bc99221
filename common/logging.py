"""JSON log lines, one object per line, each carrying the service and the request id."""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime

from common.context import request_id_var

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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
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
