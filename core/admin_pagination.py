"""Admin lists of large tables that never count them: the next page is seen one row past this one.

Django's changelist counts the whole result to number its pages; on a million tickets or a
year of e-mails that count is the slowest query of the page. A ModelAdmin that mixes in
NoCountPaginationMixin (with `show_full_result_count = False`) shows "previous / next" instead.
"""

from django.contrib.admin.views.main import PAGE_VAR
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class NoCountPaginator(Paginator):
    """Tell whether a next page exists by looking one row past the page, never counting it all.

    `count` is a lower bound (enough rows to reach the next page), computed with a LIMIT.
    """

    def __init__(self, object_list, per_page, *, page_number: int = 1, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(page_number, 1)

    @cached_property
    def count(self):
        offset = (self.page_number - 1) * self.per_page
        window = self.object_list[offset : offset + self.per_page + 1]
        return offset + (window.count() if isinstance(window, QuerySet) else len(window))

    @property
    def has_next(self) -> bool:
        return self.count > self.page_number * self.per_page

    @property
    def has_previous(self) -> bool:
        return self.page_number > 1

    @property
    def next_number(self) -> int:
        return self.page_number + 1

    @property
    def previous_number(self) -> int:
        return self.page_number - 1


class NoCountPaginationMixin:
    """Paginate a ModelAdmin's list with NoCountPaginator, on the page the request asks for."""

    paginator = NoCountPaginator
    show_full_result_count = False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        raw = request.GET.get(PAGE_VAR, "1")
        return self.paginator(
            queryset,
            per_page,
            allow_empty_first_page=allow_empty_first_page,
            page_number=int(raw) if raw.isdigit() else 1,
        )
