"""Admin changelists whose page number cannot turn into a 500: `?p=` naming no page is 404.

Django's changelist reads `p` with int() and hands it on: a page past the last redirects
to `?e=1` (when the list has several pages; on one page any number shows it), a
non-number is page 1, and a number past the database's integer range
(`?p=99999999999999999999`: an OFFSET beyond BIGINT in the product admin's
NoCountPaginator) is a 500. Here `p` must be a whole number from 1 to the last page;
anything else is 404 (problem JSON, common.http.problems). Every ModelAdmin of every project
gets it, those of Django's own apps too (`install`, from common.apps).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import ModelAdmin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.http import Http404, HttpRequest

# SQLite's INTEGER and PostgreSQL's BIGINT: an OFFSET (or LIMIT) past it fails in the
# database instead of finding no rows.
MAX_ROW_NUMBER = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ROW_NUMBER))


def requested_page(raw: str | None, per_page: int) -> int:
    """The page `?p=` names (1 without it); Http404 when it names none: not a whole
    number from 1, or so large that its rows would begin past the database's integers."""
    if raw is None:
        return 1
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _MAX_DIGITS):
        raise Http404(f"No page {raw[:30]!r}: pages are numbered from 1.")
    number = int(raw)
    if number < 1 or number * per_page > MAX_ROW_NUMBER:
        raise Http404(f"No page {number}.")
    return number


def last_page(count: int, per_page: int) -> int:
    """The changelist's last page (the first, even when the list is empty)."""
    return max(1, -(-count // per_page))


class PageCheckedChangeList(ChangeList):
    """Django's ChangeList, 404 for a page number that names no page of the list."""

    def get_results(self, request: HttpRequest) -> None:
        self.page_num = requested_page(request.GET.get(PAGE_VAR), self.list_per_page)
        try:
            super().get_results(request)
        except IncorrectLookupParameters as error:  # raised here for an invalid page only
            raise Http404(f"No page {self.page_num}.") from error
        if self.page_num > last_page(self.result_count, self.list_per_page):
            raise Http404(f"No page {self.page_num}.")


def _page_checked_changelist(
    self: ModelAdmin[Any], request: HttpRequest, **kwargs: Any
) -> type[PageCheckedChangeList]:
    return PageCheckedChangeList


def install() -> None:
    """Every ModelAdmin's changelist checks its page number. ModelAdmin's own hook
    (`get_changelist`) is set on the base class, so the admins of Django's apps (users,
    groups) are covered as well as the projects'; a ModelAdmin overriding the hook
    chooses its own changelist."""
    ModelAdmin.get_changelist = _page_checked_changelist  # type: ignore[method-assign]
