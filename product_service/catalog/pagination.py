"""How the product list is paged."""

from __future__ import annotations

from common.http.pagination import CheckedCursorPagination


class ProductCursorPagination(CheckedCursorPagination):
    """Cursor pages over the primary key: no COUNT(*), no OFFSET, same cost on any page."""

    ordering = "id"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
