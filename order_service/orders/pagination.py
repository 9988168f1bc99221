"""How the order list is paged."""

from __future__ import annotations

from common.http.pagination import CheckedCursorPagination


class OrderCursorPagination(CheckedCursorPagination):
    """Newest first; `{results, next, previous}`."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
