"""Request parsers every project uses: DRF's, with the failures DRF does not catch."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; deeply nested JSON is a 400, not a RecursionError (500).

    `"[" * 50000` makes json.loads recurse past Python's limit, and DRF's parser
    catches only ValueError.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply.") from error
