"""The path converters of the route table: `<segment:id>` and `<subpath:rest>`.

Django's `<path:...>` takes anything, `.` and `..` segments included; forwarded unchanged,
`/admin/products/../../internal/...` would leave the prefix at any upstream that
normalises paths. No segment either converter matches is `.` or `..`. Registered when
the route table is read (gateway_project.routing.table), before any pattern uses them.
"""

from __future__ import annotations

from django.urls import register_converter


class SegmentConverter:
    """One path segment, never `.` or `..`: a route's id cannot climb out of its path."""

    regex = r"(?!\.\.?(?:/|$))[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class SubpathConverter(SegmentConverter):
    """`<subpath:rest>`: the rest of a path under a prefix route (each service's admin and
    static files), possibly empty; segments as SegmentConverter reads one, any number."""

    regex = r"(?:(?!\.\.?(?:/|$))[^/]+/)*(?:(?!\.\.?$)[^/]+)?"


register_converter(SegmentConverter, "segment")
register_converter(SubpathConverter, "subpath")
