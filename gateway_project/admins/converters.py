"""`<subpath:rest>`: the rest of a path under a prefix route, possibly empty.

Django's `<path:...>` takes anything, `.` and `..` segments included; forwarded unchanged,
`/admin/products/../../internal/...` would leave the prefix at any upstream that
normalises paths. No segment here is `.` or `..`.
"""

from __future__ import annotations


class SubpathConverter:
    regex = r"(?:(?!\.\.?(?:/|$))[^/]+/)*(?:(?!\.\.?$)[^/]+)?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
