"""gunicorn's start-up lines are not tagged as errors (common.observability.logging)."""

from __future__ import annotations

import json
import logging

from common.observability.logging import GunicornServerFilter, JsonFormatter


def _line(level: int) -> dict:
    record = logging.LogRecord("gunicorn.error", level, __file__, 1, "Listening at", (), None)
    assert GunicornServerFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_info_lines_are_tagged_gunicorn_and_errors_keep_gunicorn_error():
    assert _line(logging.INFO)["logger"] == "gunicorn"
    assert _line(logging.WARNING)["logger"] == "gunicorn.error"
    assert _line(logging.ERROR)["logger"] == "gunicorn.error"
