"""Text search on SQLite: the FTS5 tables of ``core.search.index`` (kept in step by triggers) answer
``core.search.engine``'s questions.  User text never reaches
FTS5 as syntax: it is cut into words of letters and digits, each quoted, so
``"``, ``*``, ``AND (`` or ``name:`` are plain text and never an error.  The
last word (the one being typed) matches as a prefix (``"ab"*``) when it has
two or more characters; the words before it match whole, since a whole word
as a prefix would merge the lists of every longer word starting with it.  A
ranked search tries the last word whole first: when that alone fills the
window (a common word) the prefix query, which would read the word's whole
match list, is not needed.

Ranking is bm25 with the name weighted far above the description.  A ranked
search scores at most ``WINDOW`` newest matches of the whole text plus at most
``WINDOW`` newest matches in the name, so a query that matches half of a large
table still answers in milliseconds; the newest name matches are always among
the candidates.  The name matches come from the name-only tables of
``core.search.index``: a column filter on the whole-text table would walk a
common word's whole match list to find the few rows with it in the name.  The
scores are computed here: each window row comes with its text, every matched
word marked by FTS5's ``highlight()`` as many times as its column's weight,
and its word count from FTS5's ``%_docsize`` record.  FTS5's own ``bm25()``
reads the whole match list of every word to weigh it, which for a common word
costs more than the rest of the search.

Highlighting (tokenizing) a row's text is most of a ranked search's cost, so
the window is 100 rows: at 100k rows the first page then holds 98% (models),
91% (files) and 80% (users) of the bm25 score of the best page among the
newest 5,000 matches, against 99%, 94% and 83% with 200 rows, for half the
time.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Hashable

from peewee import SQL

from core.search import FILES, IMAGES, MODELS, USERS
from core.search.index import FileSearch, ImageSearch, ModelNameSearch, ModelSearch, UserNameSearch, UserSearch
from core.tables import AiModel

WINDOW = 100
BM25_K1 = 1.2  # FTS5's bm25 constants
BM25_B = 0.75
HIT = "\x01"  # marks each matched word in the window's texts
MAX_TERMS = 8
MAX_TERM_CHARS = 64
WORD = re.compile(r"[^\W_]+")
# bm25 weights, one per column of the FTS table, in column order: whole numbers (a hit is marked that many times).
WEIGHTS = {
    ModelSearch: (10, 1, 4, 4, 2),  # name, description, tags, trigger words, creator
    FileSearch: (1,),
    UserSearch: (10, 1),  # username, bio
    ImageSearch: (1,),
}
INDEXES = {MODELS: ModelSearch, FILES: FileSearch, USERS: UserSearch, IMAGES: ImageSearch}
# The name-only index of a table whose first column is a name (its weight the first of WEIGHTS).
NAME_INDEX = {ModelSearch: ModelNameSearch, UserSearch: UserNameSearch}
ROW = '"__row__".rowid'  # in a window's scope query: the row tested


def terms(text: str) -> tuple[str, ...]:
    """The words of a query: runs of letters and digits, at most ``MAX_TERMS``."""
    return tuple(word[:MAX_TERM_CHARS] for word in WORD.findall(text or "")[:MAX_TERMS])


def _quoted(word: str, prefix: bool) -> str:
    return f'"{word}"*' if prefix and len(word) >= 2 else f'"{word}"'


def match_expression(text: str, prefix: bool = True) -> str | None:
    """A safe FTS5 query: every word quoted, the last one (if 2+ characters and ``prefix``) as a prefix; None if
    no words."""
    words = terms(text)
    if not words:
        return None
    return " ".join(_quoted(word, prefix and index == len(words) - 1) for index, word in enumerate(words))


def _nothing(field):
    return field.model.select(field).where(SQL("1 = 0"))


def matching_ids(kind: str, text: str):
    """A sub-query of the ids of ``kind`` whose text matches ``text`` (every word; the last as a prefix)."""
    fts = INDEXES[kind]
    expression = match_expression(text)
    return _nothing(fts.rowid) if expression is None else fts.select(fts.rowid).where(fts.match(expression))


def _mark(weight: int) -> str:
    return f"char({', '.join([str(ord(HIT))] * weight)})"


def _window_sql(index, weights: tuple[int, ...], sizes: str, in_scope: str) -> str:
    """The newest ``WINDOW`` rows of the FTS table ``index`` that match the expression (the first ``?``) and are
    in scope (``in_scope``'s ``ROW`` standing for the row): the rowid, the row's columns joined, every matched
    word marked by as many ``HIT`` as its column's weight (FTS5's ``highlight()``, so a row's weighted hits
    are one count), and the row's ``sizes`` (the FTS5 table whose ``%_docsize`` counts the row's words).

    The match list is read newest first and each matched row is tested against the scope on its own, so only
    the rows of the window are ever visited."""
    table = f'"{index._meta.table_name}"'
    row = f"{table}.rowid"
    marked = " || ".join(f"ifnull(highlight({table}, {column}, {_mark(weight)}, ''), '')"
                         for column, weight in enumerate(weights))
    return (f'SELECT * FROM (SELECT {row}, {marked}, (SELECT sz FROM "{sizes}_docsize" WHERE id = {row})'
            f" FROM {table} WHERE {table} MATCH ? AND EXISTS ({in_scope.replace(ROW, row)})"
            f" ORDER BY {row} DESC LIMIT {WINDOW})")


def _words(sizes: bytes | None) -> int:
    """A row's word count from its FTS5 ``%_docsize`` record: one varint (7 bits a byte, high bit: more
    follow) per column."""
    if not sizes or sizes.isascii():
        return sum(sizes or b"")
    total = value = 0
    for byte in sizes:
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            total, value = total + value, 0
    return total


def bm25_scores(rows) -> dict[int, float]:
    """bm25 of each row (higher is better) from ``_window_sql``'s ``rows`` (a later row of the same id wins), the
    query's words taken as one term.

    FTS5's own ``bm25()`` also weighs each word by how many rows hold it, which for a common word means
    reading its whole match list; within the window every row holds every word anyway."""
    counts = {row_id: (text.count(HIT), _words(sizes)) for row_id, text, sizes in rows}
    average = max(sum(length for _, length in counts.values()) / max(len(counts), 1), 1.0)
    return {row_id: hits * (BM25_K1 + 1) / (hits + BM25_K1 * (1 - BM25_B + BM25_B * length / average))
            for row_id, (hits, length) in counts.items()}


def per_row_test(scope) -> tuple[str, tuple]:
    """``scope`` (a query selecting ids) as SQL testing one row, ``ROW`` standing for it: (text, parameters)."""
    sql, params = scope.where(scope.selected_columns[0] == SQL(ROW)).sql()
    return sql, tuple(params)


def compiled_scope(build: Callable, actor: Hashable) -> tuple[str, tuple]:
    """``per_row_test(build(actor))``, its SQL written once per (scope, viewer, kind of database): peewee takes
    longer to write a joined scope's SQL than FTS5 takes to find the window. ``build`` must be a module-level
    function."""
    return _compiled_scope(build, actor, type(AiModel._meta.database))


@functools.lru_cache(maxsize=256)
def _compiled_scope(build: Callable, actor: Hashable, _kind: type) -> tuple[str, tuple]:
    return per_row_test(build(actor))


def ranked_ids(kind: str, text: str, scope, compiled: tuple[str, tuple] | None = None) -> list[int]:
    """Ids among ``scope`` (a query selecting ``kind``'s ids) best matching ``text``, best first; ``compiled`` is
    ``scope``'s ``per_row_test`` where the caller keeps it."""
    fts = INDEXES[kind]
    words = terms(text)
    if not words:
        return []
    table = fts._meta.table_name
    in_scope, scope_params = compiled or per_row_test(scope)
    database = fts._meta.database
    whole_text = _window_sql(fts, WEIGHTS[fts], table, in_scope)
    name = _window_sql(NAME_INDEX[fts], WEIGHTS[fts][:1], table, in_scope) if fts in NAME_INDEX else None

    def read(windows: list[str], expression: str) -> list[tuple]:
        return database.execute_sql(" UNION ALL ".join(windows), [expression, *scope_params] * len(windows)).fetchall()

    whole = match_expression(text, prefix=False)
    rows = read([whole_text], whole)
    if len(rows) < WINDOW and len(words[-1]) >= 2:  # not filled by the last word whole: as a prefix then
        rows = read([name, whole_text] if name else [whole_text], match_expression(text))
    elif name:  # the newest matches in the name too, read first: the whole-text window's rows win
        rows = read([name], whole) + rows
    scores = bm25_scores(rows)
    return sorted(scores, key=lambda row_id: (-scores[row_id], -row_id))


def in_order(rows, ids: list[int]) -> list:
    """``rows`` (having ``id``) sorted as ``ids`` lists them."""
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]
