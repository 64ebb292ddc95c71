"""The one interface of text search: the library, the gallery and people listings ask it, and the database in use
decides which engine answers — SQLite's FTS5 (``core.search.fts``) or PostgreSQL's full text
(``core.search.postgres``). Both take the same words the same way (``fts.terms``: every word required, the last
one a prefix, user text never syntax) and return ids, best first; what a viewer may see is the caller's scope.

``kind`` is one of ``core.search``'s ``MODELS``, ``FILES``, ``USERS``, ``IMAGES``.
"""

from __future__ import annotations

from typing import Callable, Hashable

from core.search import fts, postgres
from core.search.fts import in_order, terms
from core.store import on_postgres

__all__ = ["compiled_scope", "in_order", "matching_ids", "ranked_ids", "terms"]


def _engine():
    return postgres if on_postgres() else fts


def matching_ids(kind: str, text: str):
    """A sub-query of the ids of ``kind`` matching ``text``, for ``.in_()`` in a listing's query."""
    return _engine().matching_ids(kind, text)


def compiled_scope(build: Callable, actor: Hashable):
    """``build(actor)``'s scope prepared once per viewer where the engine can use it (FTS5's per-row test)."""
    return _engine().compiled_scope(build, actor)


def ranked_ids(kind: str, text: str, scope, compiled=None) -> list[int]:
    """Ids among ``scope`` (a query selecting ``kind``'s ids) best matching ``text``, best first."""
    return _engine().ranked_ids(kind, text, scope, compiled)
