"""Search: the only module that knows how text search is done.

On SQLite the FTS5 tables of ``core.search_index`` answer (kept in step by
triggers); on other databases a ``LIKE`` scan does.  User text never reaches
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
``WINDOW`` newest matches in the name column, so a query that matches half of
a large table still answers in milliseconds; the best names are always among
the candidates.  The scores are computed here from those rows' text: FTS5's
own ``bm25()`` reads the whole match list of every word to weigh it, which
for a common word costs more than the rest of the search.
"""

from __future__ import annotations

import re
from typing import Callable

from peewee import SQL, SqliteDatabase, fn

from community.accounts import UserInfo, user_info
from community.paging import slice_page
from core.library import Page, file_record, model_records, visible_models, visible_to
from core.search_index import FileSearch, ImageSearch, ModelSearch, UserSearch
from core.store import AiModel, Image, ModelFile, ModelTag, ModelVersion, Tag, User

WINDOW = 200
BM25_K1 = 1.2  # FTS5's bm25 constants
BM25_B = 0.75
HIT = "\x01"  # marks each matched word in the window's texts
MAX_TERMS = 8
MAX_TERM_CHARS = 64
WORD = re.compile(r"[^\W_]+")
# bm25 weights, one per column of the FTS table, in column order.
WEIGHTS = {
    ModelSearch: (10.0, 1.0, 4.0, 4.0, 2.0),  # name, description, tags, trigger words, creator
    FileSearch: (1.0,),
    UserSearch: (10.0, 1.0),  # username, bio
    ImageSearch: (1.0,),
}
PRIMARY_COLUMN = {ModelSearch: "name", FileSearch: None, UserSearch: "username", ImageSearch: None}


def terms(text: str) -> tuple[str, ...]:
    """The words of a query: runs of letters and digits, at most ``MAX_TERMS``."""
    return tuple(word[:MAX_TERM_CHARS] for word in WORD.findall(text or "")[:MAX_TERMS])


def _quoted(word: str, prefix: bool) -> str:
    return f'"{word}"*' if prefix and len(word) >= 2 else f'"{word}"'


def match_expression(text: str, column: str | None = None, prefix: bool = True) -> str | None:
    """A safe FTS5 query: every word quoted, the last one (if 2+ characters and ``prefix``) as a prefix; None if
    no words."""
    words = terms(text)
    if not words:
        return None
    expression = " ".join(_quoted(word, prefix and index == len(words) - 1) for index, word in enumerate(words))
    return f"{{{column}}} : ({expression})" if column else expression


def uses_fts() -> bool:
    return isinstance(AiModel._meta.database, SqliteDatabase)


def _like_all(words: tuple[str, ...], condition: Callable[[str], object]):
    """Every word must match (``condition(pattern)`` for each ``%word%``)."""
    expression = SQL("1 = 1")
    for word in words:
        expression &= condition(f"%{word}%")
    return expression


def _nothing(field):
    return field.model.select(field).where(SQL("1 = 0"))


def _fts_ids(fts, text: str):
    expression = match_expression(text)
    return _nothing(fts.rowid) if expression is None else fts.select(fts.rowid).where(fts.match(expression))


def _model_like(pattern: str):
    tagged = ModelTag.select(ModelTag.model).join(Tag).where(Tag.name ** pattern)
    owners = User.select(User.id).where(User.username ** pattern)
    return ((AiModel.name ** pattern) | (AiModel.description ** pattern) | (AiModel.trigger_words ** pattern)
            | AiModel.id.in_(tagged) | AiModel.owner.in_(owners))


def matching_model_ids(text: str):
    """A sub-query of the ids of models matching ``text`` (name, description, tags, trigger words, creator)."""
    if uses_fts():
        return _fts_ids(ModelSearch, text)
    words = terms(text)
    return AiModel.select(AiModel.id).where(_like_all(words, _model_like)) if words else _nothing(AiModel.id)


def matching_file_ids(text: str):
    """A sub-query of the ids of files whose original name matches ``text``."""
    if uses_fts():
        return _fts_ids(FileSearch, text)
    words = terms(text)
    condition = _like_all(words, lambda p: ModelFile.original_name ** p)
    return ModelFile.select(ModelFile.id).where(condition) if words else _nothing(ModelFile.id)


def matching_user_ids(text: str):
    """A sub-query of the ids of users whose name or bio matches ``text``."""
    if uses_fts():
        return _fts_ids(UserSearch, text)
    words = terms(text)
    condition = _like_all(words, lambda p: (User.username ** p) | (User.bio ** p))
    return User.select(User.id).where(condition) if words else _nothing(User.id)


def matching_image_ids(text: str):
    """A sub-query of the ids of images whose prompt matches ``text``."""
    if uses_fts():
        return _fts_ids(ImageSearch, text)
    words = terms(text)
    return Image.select(Image.id).where(_like_all(words, lambda p: Image.prompt ** p)) if words else _nothing(Image.id)


def _window(fts, scope, key, expression: str) -> dict[int, tuple[str, ...]]:
    """The column texts of the newest ``WINDOW`` rows of ``scope`` that match ``expression``, each matched word
    marked by ``HIT`` (FTS5's ``highlight()``, which needs nothing beyond the row).

    The match list is read newest first and each matched row is tested against ``scope`` on its own, so only
    the rows of the window are ever visited."""
    table = SQL(f'"{fts._meta.table_name}"')
    marked = [fn.highlight(table, index, HIT, "") for index in range(len(WEIGHTS[fts]))]
    in_scope = fn.EXISTS(scope.where(key == fts.rowid))
    rows = (fts.select(fts.rowid, *marked).where(fts.match(expression), in_scope)
            .order_by(fts.rowid.desc()).limit(WINDOW))
    return {row[0]: row[1:] for row in rows.tuples()}


def bm25_scores(texts: dict[int, tuple[str, ...]], weights: tuple[float, ...]) -> dict[int, float]:
    """bm25 of each row (higher is better) over its weighted columns, the query's words taken as one term.

    FTS5's own ``bm25()`` also weighs each word by how many rows hold it, which for a common word means
    reading its whole match list; within the window every row holds every word anyway.  Row lengths are
    counted in spaces (a close, cheap stand-in for words)."""
    lengths = {row_id: sum(text.count(" ") + 1 for text in columns if text) for row_id, columns in texts.items()}
    average = max(sum(lengths.values()) / max(len(lengths), 1), 1.0)
    scores = {}
    for row_id, columns in texts.items():
        hits = sum(weight * text.count(HIT) for weight, text in zip(weights, columns) if text)
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[row_id] / average)
        scores[row_id] = hits * (BM25_K1 + 1) / (hits + norm)
    return scores


_FALLBACK = {ModelSearch: matching_model_ids, FileSearch: matching_file_ids, UserSearch: matching_user_ids,
             ImageSearch: matching_image_ids}


def ranked_ids(fts, text: str, scope) -> list[int]:
    """Ids among ``scope`` (a query selecting the ids of ``fts``'s table) best matching ``text``, best first."""
    key = scope.selected_columns[0]
    if not uses_fts():
        matching = scope.where(key.in_(_FALLBACK[fts](text))).order_by(key.desc()).limit(WINDOW)
        return [row[0] for row in matching.tuples()]
    words = terms(text)
    if not words:
        return []
    whole = _window(fts, scope, key, match_expression(text, prefix=False))
    prefix = len(whole) < WINDOW and len(words[-1]) >= 2
    if prefix:
        whole = _window(fts, scope, key, match_expression(text))
    column = PRIMARY_COLUMN[fts]
    texts = _window(fts, scope, key, match_expression(text, column, prefix)) if column else {}
    texts.update(whole)
    scores = bm25_scores(texts, WEIGHTS[fts])
    return sorted(scores, key=lambda row_id: (-scores[row_id], -row_id))


def in_order(rows, ids: list[int]) -> list:
    """``rows`` (having ``id``) sorted as ``ids`` lists them."""
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def search_models(actor: UserInfo | None, text: str, page: int = 1, limit: int = 20) -> Page:
    """Models the actor may see, ranked by how well they match ``text``: a Page of ModelRecord."""
    ranked = ranked_ids(ModelSearch, text, visible_models(actor).select(AiModel.id))
    ids, page, limit = slice_page(ranked, page, limit)
    rows = in_order(AiModel.select().where(AiModel.id.in_(ids)), ids)
    return Page(tuple(model_records(rows)), len(ranked), page, limit)


def search_files(actor: UserInfo | None, text: str, page: int = 1, limit: int = 20) -> Page:
    """Files of models the actor may see, ranked by their file name: a Page of (model_id, FileRecord)."""
    scope = ModelFile.select(ModelFile.id).join(ModelVersion).join(AiModel).where(visible_to(actor))
    ranked = ranked_ids(FileSearch, text, scope)
    ids, page, limit = slice_page(ranked, page, limit)
    rows = in_order(ModelFile.select(ModelFile, ModelVersion.model).join(ModelVersion).where(ModelFile.id.in_(ids)),
                    ids)
    return Page(tuple((row.version.model_id, file_record(row)) for row in rows), len(ranked), page, limit)


def search_users(text: str, page: int = 1, limit: int = 20) -> Page:
    """Users ranked by name (then bio) match: a Page of UserInfo."""
    ranked = ranked_ids(UserSearch, text, User.select(User.id))
    ids, page, limit = slice_page(ranked, page, limit)
    rows = in_order(User.select().where(User.id.in_(ids)), ids)
    return Page(tuple(user_info(row) for row in rows), len(ranked), page, limit)
