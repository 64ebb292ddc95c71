"""Pages of listings: a page number and size, or an opaque cursor, and the ``Page`` every listing returns."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Callable

from core.errors import InvalidInput

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    items: tuple
    total: int
    page: int
    page_size: int

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size)) if self.page_size else 1

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.total_pages else None

    @property
    def next_cursor(self) -> str | None:
        return encode_cursor(self.page * self.page_size) if self.next_page else None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "o" or not 0 <= int(value) < 2**63:  # an offset SQLite can take
            raise ValueError
        return int(value)
    except ValueError:
        raise InvalidInput("invalid cursor") from None


def bounds(page: int | None, limit: int | None, cursor: str | None = None,
           max_size: int = MAX_PAGE_SIZE) -> tuple[int, int]:
    """``(offset, limit)`` for a page number or a cursor; the limit clamped to 1..max_size."""
    limit = min(max(int(limit or 20), 1), max_size)
    offset = decode_cursor(cursor) if cursor else (max(int(page or 1), 1) - 1) * limit
    return offset, limit


def paginate(query, page: int | None, limit: int | None, convert: Callable[[list], list],
             cursor: str | None = None, max_size: int = MAX_PAGE_SIZE) -> Page:
    """One page of an ordered peewee query; ``convert`` turns its rows into records."""
    offset, limit = bounds(page, limit, cursor, max_size)
    total = query.count()
    rows = list(query.offset(offset).limit(limit))
    return Page(tuple(convert(rows)), total, offset // limit + 1, limit)


def slice_page(ids: list[int], page: int | None, limit: int | None,
               cursor: str | None = None, max_size: int = MAX_PAGE_SIZE) -> tuple[list[int], int, int]:
    """The ids on one page of an already ordered list, with the page number and size used."""
    offset, limit = bounds(page, limit, cursor, max_size)
    return ids[offset: offset + limit], offset // limit + 1, limit
