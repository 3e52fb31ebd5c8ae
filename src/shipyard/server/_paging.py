"""Server-side pagination of UI lists: ``?page=N&per_page=M`` and the pager links.

A route asks the service for one page (``limit=per_page, offset=(page - 1) * per_page``)
and a cheap count, then renders ``_pager.html`` with a :class:`Pager`. Links keep every
other query parameter (filters, ordering).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request

from ..core import InvalidInput, NotFound

PER_PAGE = 50
MAX_PER_PAGE = 500
_OWN = {"page", "per_page"}


@dataclass(frozen=True)
class Pager:
    page: int
    per_page: int
    total: int
    prev_url: str | None
    next_url: str | None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """1-based index of the first item on this page (0 when the page is empty)."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.per_page, self.total)


def page_params(page: int, per_page: int) -> tuple[int, int]:
    """Validated ``(page, per_page)``; bad values raise :class:`InvalidInput` (422)."""
    if page < 1:
        raise InvalidInput(f"page must be 1 or more, got {page}", details={"page": page})
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(
            f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}",
            details={"per_page": per_page},
        )
    return page, per_page


def pager(request: Request, page: int, per_page: int, total: int) -> Pager:
    """The pager of *page* among *total* items; links keep the other query parameters.

    A page past the last one raises :class:`NotFound` (404).
    """

    def url(n: int) -> str:
        keep = [(k, v) for k, v in request.query_params.multi_items() if k not in _OWN]
        own = [("page", str(n))] + ([("per_page", str(per_page))] if per_page != PER_PAGE else [])
        return f"{request.url.path}?{urlencode(keep + own)}"

    last_page = max(1, -(-total // per_page))
    if page > last_page:
        raise NotFound(
            f"page {page} is past the last page ({last_page}) of this list of {total}; "
            "start from ?page=1",
            details={"page": page, "pages": last_page},
        )
    return Pager(
        page=page,
        per_page=per_page,
        total=total,
        prev_url=url(page - 1) if page > 1 else None,
        next_url=url(page + 1) if page < last_page else None,
    )
