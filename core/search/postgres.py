"""Text search on PostgreSQL: the same questions as ``core.search.fts`` answers on SQLite, asked of the
``tsvector`` documents of ``core.search.pg_index``.

The words are those of ``fts.terms`` (letters and digits only, so user text is never ``tsquery`` syntax), every
one required and the last one a prefix, exactly as on SQLite; ``va_tsquery`` spells them for PostgreSQL. A
ranked search scores at most ``fts.WINDOW`` newest matches of the whole text plus, where a name is indexed
(models, people), the ``WINDOW`` newest matches in the name alone, so a common word answers as fast as a rare
one; ``ts_rank_cd`` weighs the name (``A``) far above tags and trigger words (``B``), the creator (``C``) and the
description (``D``), as bm25's column weights do on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable

from peewee import SQL

from core.search import FILES, IMAGES, MODELS, USERS, fts
from core.tables import AiModel, Image, ModelFile, User

# ts_rank_cd's weights of D, C, B, A: bm25's column weights on SQLite are 1 (description), 2 (creator), 4 (tags,
# trigger words) and 10 (name).
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"


@dataclass(frozen=True)
class Document:
    """Where a kind's documents are: the table (its ``key`` column the searched row's id) and its ``tsvector``."""

    table: str
    key: str
    column: str
    has_name: bool  # the name is weighted A: it has a window of its own
    rows: type  # the peewee model whose ids these are


DOCUMENTS = {
    MODELS: Document("model_doc", "model_id", "doc", True, AiModel),
    FILES: Document("model_file", "id", "search", False, ModelFile),
    USERS: Document('"user"', "id", "search", True, User),
    IMAGES: Document("image", "id", "search", False, Image),
}


def _query(prefix: bool = True, in_weight: str = "") -> str:
    return f"va_tsquery(%s::text[], {'true' if prefix else 'false'}, '{in_weight}')"


def matching_ids(kind: str, text: str):
    """A sub-query of the ids of ``kind`` matching ``text`` (every word; the last as a prefix)."""
    document = DOCUMENTS[kind]
    key = document.rows.id
    words = list(fts.terms(text))
    if not words:
        return document.rows.select(key).where(SQL("1 = 0"))
    matches = SQL(f"(SELECT {document.key} FROM {document.table} WHERE {document.column} @@ {_query()})", [words])
    return document.rows.select(key).where(key.in_(matches))


def compiled_scope(build: Callable, actor: Hashable) -> None:
    """Nothing to compile ahead on PostgreSQL: ``ranked_ids`` takes the scope query as it is."""
    return None


def _window(document: Document, scope_sql: str, in_weight: str = "") -> str:
    return (f"(SELECT {document.key} AS id, {document.column} AS doc FROM {document.table} "
            f"WHERE {document.column} @@ {_query(True, in_weight)} AND {document.key} IN ({scope_sql}) "
            f"ORDER BY {document.key} DESC LIMIT {fts.WINDOW})")


def ranked_ids(kind: str, text: str, scope, compiled=None) -> list[int]:
    """Ids among ``scope`` (a query selecting ``kind``'s ids) best matching ``text``, best first."""
    words = list(fts.terms(text))
    if not words:
        return []
    document = DOCUMENTS[kind]
    scope_sql, scope_params = scope.sql()
    windows = [_window(document, scope_sql)]
    params: list = [words, *scope_params]
    if document.has_name:
        windows.append(_window(document, scope_sql, "A"))
        params += [words, *scope_params]
    sql = (f"SELECT id FROM ({' UNION ALL '.join(windows)}) AS hits GROUP BY id "
           f"ORDER BY max(ts_rank_cd('{RANK_WEIGHTS}', doc, {_query()})) DESC, id DESC")
    return [row[0] for row in AiModel._meta.database.execute_sql(sql, [*params, words]).fetchall()]
