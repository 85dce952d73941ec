"""Page numbers from the query string, with bounds: the HTML lists' `?page=` (the API's schemas
check their own, with a 422, against the same MAX_PAGE)."""

from __future__ import annotations

from dataclasses import dataclass

# Far beyond any real list, and small enough that OFFSET never overflows a database integer.
MAX_PAGE = 100_000


def page_number(text: str | None) -> int:
    """The page asked for, 1 to MAX_PAGE; anything else (not a number, zero, negative, more
    digits than a database integer holds) means the first page for a list a person browses."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        return 1
    number = int(text)
    return number if 1 <= number <= MAX_PAGE else 1


@dataclass(frozen=True)
class Page:
    """One page of a list a person browses: its rows, its number and how many there are."""

    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages
