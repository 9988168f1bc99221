"""The gateway's own DRF views parse JSON with common's parser: deep nesting is a 400."""

from __future__ import annotations

import io

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings

from common.http.parsers import JSONParser


def test_the_gateway_parses_json_with_commons_parser():
    parsers = api_settings.DEFAULT_PARSER_CLASSES
    assert parsers == [JSONParser]


def test_deeply_nested_json_is_a_parse_error_not_a_recursion_error():
    with pytest.raises(ParseError, match="nested too deeply"):
        JSONParser().parse(io.BytesIO(b"[" * 50_000))
