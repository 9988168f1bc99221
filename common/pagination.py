"""Cursor pagination whose cursor cannot turn into a 500."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class CheckedCursorPagination(CursorPagination):
    """DRF's cursor pagination; a cursor whose position is not a value of the ordering
    field (`p=1e400` for an id, `p=x` for a date) is 404 "Invalid cursor", as a cursor
    that does not decode is. DRF passes the position to the query unchecked."""

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, OverflowError, DjangoValidationError) as error:
            raise NotFound(self.invalid_cursor_message) from error
