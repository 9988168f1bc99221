"""`<subpath:rest>`: the rest of a path under a prefix route, possibly empty.

Django's `<path:...>` takes anything, `.` and `..` segments included; forwarded unchanged,
`/admin/products/../../internal/...` would leave the prefix at any upstream that
normalises paths. No segment here is `.` or `..`.
"""

from __future__ import annotations

from gateway_project.proxy.routes import SegmentConverter


class SubpathConverter(SegmentConverter):
    """Segments as SegmentConverter reads one, any number of them, passed through as text."""

    regex = r"(?:(?!\.\.?(?:/|$))[^/]+/)*(?:(?!\.\.?$)[^/]+)?"
