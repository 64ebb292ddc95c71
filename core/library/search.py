"""Searching the library: models and files ranked by ``core.search.engine``, among those the viewer may see.

The search package finds and ranks ids; this module decides which rows a viewer may see (the scope it hands
the ranking) and turns the ranked ids into the library's records.
"""

from __future__ import annotations

from core.accounts.accounts import UserInfo
from core.compiled_sql import rows_for_ids
from core.library.library import visible_models, visible_to
from core.library.model_records import FILE_COLUMNS, file_record_of, records_by_id
from core.paging import Page, slice_page
from core.search import FILES, MODELS
from core.search.engine import compiled_scope, ranked_ids
from core.tables import AiModel, ModelFile, ModelVersion


def _visible_model_ids(actor: UserInfo | None):
    return visible_models(actor).select(AiModel.id)


def _visible_file_ids(actor: UserInfo | None):
    return ModelFile.select(ModelFile.id).join(ModelVersion).join(AiModel).where(visible_to(actor))


def _files_by_id(ids: list[int]):
    return (ModelFile.select(*FILE_COLUMNS, ModelFile.version, ModelVersion.model).join(ModelVersion)
            .where(ModelFile.id.in_(ids)))


def search_models(actor: UserInfo | None, text: str, page: int = 1, limit: int = 20) -> Page:
    """Models the actor may see, ranked by how well they match ``text``: a Page of ModelRecord."""
    ranked = ranked_ids(MODELS, text, _visible_model_ids(actor), compiled_scope(_visible_model_ids, actor))
    ids, page, limit = slice_page(ranked, page, limit)
    return Page(tuple(records_by_id(ids)), len(ranked), page, limit)


def search_files(actor: UserInfo | None, text: str, page: int = 1, limit: int = 20) -> Page:
    """Files of models the actor may see, ranked by their file name: a Page of (model_id, FileRecord)."""
    ranked = ranked_ids(FILES, text, _visible_file_ids(actor), compiled_scope(_visible_file_ids, actor))
    ids, page, limit = slice_page(ranked, page, limit)
    # A file's columns, then its version's id and its model's id; the query's SQL written once (core.compiled_sql).
    rows = {row[0]: row for row in rows_for_ids(AiModel._meta.database, _files_by_id, ids)}
    items = tuple((rows[i][-1], file_record_of(rows[i][-2], rows[i][:-2])) for i in ids if i in rows)
    return Page(items, len(ranked), page, limit)
