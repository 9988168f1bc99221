"""Cursor pagination whose cursor cannot turn into a 500, and whose links no Host steers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from common.http.filters import GIVE_ONCE
from common.settings.namespaces import common_settings


def public_url(request: HttpRequest) -> str:
    """This request's URL as clients reach it: PUBLIC_ORIGIN, then the path and query.

    Not `build_absolute_uri()`: that names the client's Host (or X-Forwarded-Host), and
    the gateway's response cache keeps an answer for every caller of a role, so one
    client's `Host: evil.example` would send the others' next page there. The gateway
    forwards paths unchanged, so the path a service sees is the public one. Without
    PUBLIC_ORIGIN the link is relative (RFC 3986 §4.2: resolved against the request's URL).
    """
    return f"{common_settings.PUBLIC_ORIGIN}{request.get_full_path()}"


class CheckedCursorPagination(CursorPagination):
    """DRF's cursor pagination; a cursor whose position is not a value of the ordering
    field (`p=1e400` for an id, `p=x` for a date) is 404 "Invalid cursor", as a cursor
    that does not decode is. DRF passes the position to the query unchecked. The
    `next` and `previous` links start with PUBLIC_ORIGIN (`public_url`)."""

    max_page_size: int  # each service's pagination sets it

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        if len(request.query_params.getlist(self.cursor_query_param)) > 1:
            raise ValidationError({self.cursor_query_param: [GIVE_ONCE]})
        try:
            page = super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError) as error:
            raise NotFound(self.invalid_cursor_message) from error
        self.base_url = public_url(request)  # what get_next_link / get_previous_link build on
        return page

    def get_page_size(self, request: Any) -> int | None:
        """`page_size` as the schema has it: once, a whole number from 1 to the maximum;
        anything else is 400 (DRF reads the last of several and ignores a bad one)."""
        name = self.page_size_query_param
        if not name or name not in request.query_params:
            return self.page_size
        values = request.query_params.getlist(name)
        text = values[0].strip()
        if len(values) > 1 or not text.isascii() or not text.isdigit():
            raise ValidationError({name: [self._page_size_rule()]})
        size = int(text)
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({name: [self._page_size_rule()]})
        return size

    def _page_size_rule(self) -> str:
        return f"A whole number from 1 to {self.max_page_size}, given once."

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """DRF's, with links documented as URI references: absolute under PUBLIC_ORIGIN,
        a path without it."""
        documented = super().get_paginated_response_schema(schema)
        for name in ("next", "previous"):
            link = documented["properties"][name]
            link["format"] = "uri-reference"
            link["description"] = "The adjacent page: PUBLIC_ORIGIN, then the path and query."
        return documented
