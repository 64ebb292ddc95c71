"""Pagination for community listings: page/limit or a cursor, as ``core.library.Page``."""

from __future__ import annotations

from typing import Callable

from core.library import MAX_PAGE_SIZE, Page, decode_cursor


def bounds(page: int | None, limit: int | None, cursor: str | None = None) -> tuple[int, int]:
    """``(offset, limit)`` for a page number or a cursor; the limit clamped to 1..MAX_PAGE_SIZE."""
    limit = min(max(int(limit or 20), 1), MAX_PAGE_SIZE)
    offset = decode_cursor(cursor) if cursor else (max(int(page or 1), 1) - 1) * limit
    return offset, limit


def paginate(query, page: int | None, limit: int | None, convert: Callable[[list], list],
             cursor: str | None = None) -> Page:
    """One page of an ordered peewee query; ``convert`` turns its rows into records."""
    offset, limit = bounds(page, limit, cursor)
    total = query.count()
    rows = list(query.offset(offset).limit(limit))
    return Page(tuple(convert(rows)), total, offset // limit + 1, limit)


def slice_page(ids: list[int], page: int | None, limit: int | None,
               cursor: str | None = None) -> tuple[list[int], int, int]:
    """The ids on one page of an already ordered list, with the page number and size used."""
    offset, limit = bounds(page, limit, cursor)
    return ids[offset: offset + limit], offset // limit + 1, limit
