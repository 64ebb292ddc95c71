"""Reading the model library: records, visibility, listings, hash lookup.

Returns frozen dataclasses; the API turns them into Civitai-shaped JSON and
the UI into cards and pages.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from peewee import SQL, NodeList, SqliteDatabase

from community.accounts import UserInfo
from core.errors import InvalidInput, NotFound
from core.model_records import (  # noqa: F401  (re-exported: the records are part of this module's interface)
    FileRecord, ModelRecord, VersionRecord, file_record, model_records, models_by_id, records_by_id)
from core.store import AiModel, ModelFile, ModelTag, ModelVersion, Tag, User

SORTS = {
    "newest": (AiModel.created_at.desc(), AiModel.id.desc()),
    "most_liked": (AiModel.like_count.desc(), AiModel.id.desc()),
    "most_downloaded": (AiModel.download_count.desc(), AiModel.id.desc()),
}
# Civitai's names for the same sorts.
SORT_ALIASES = {"Newest": "newest", "Highest Rated": "most_liked", "Most Liked": "most_liked",
                "Most Downloaded": "most_downloaded"}
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


@dataclass(frozen=True)
class ModelQuery:
    query: str = ""
    types: tuple[str, ...] = ()
    base_models: tuple[str, ...] = ()
    tag: str = ""
    username: str = ""
    sort: str = "newest"
    page: int = 1
    limit: int = 20
    cursor: str | None = None
    mine: bool = False


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


def can_view(actor: UserInfo | None, model: AiModel | ModelRecord) -> bool:
    return model.visibility == "public" or (actor is not None and (actor.is_admin or actor.id == model.owner_id))


def visible_to(actor: UserInfo | None):
    """The condition on ``AiModel`` rows the actor may see (to test per row in a join)."""
    if actor is None:
        return AiModel.visibility == "public"
    if actor.is_admin:
        return SQL("1 = 1")
    return (AiModel.visibility == "public") | (AiModel.owner == actor.id)


def visible_models(actor: UserInfo | None):
    return AiModel.select().where(visible_to(actor))


def _unindexed(field):
    """``+field`` on SQLite: the same value, but SQLite will not pick an index of that column for it."""
    return NodeList((SQL("+"), field), glue="") if isinstance(AiModel._meta.database, SqliteDatabase) else field


def _visible_in_sort_order(actor: UserInfo | None):
    """``visible_models`` for a sorted listing: SQLite walks the sort column's index in order, testing
    visibility row by row, and stops after one page.  Left to itself it reads every visible row through the
    visibility and owner indexes and sorts them all (10+ ms per page at 2,000 models)."""
    if actor is not None and actor.is_admin:
        return AiModel.select()
    condition = _unindexed(AiModel.visibility) == "public"
    if actor is not None:
        condition |= _unindexed(AiModel.owner) == actor.id
    return AiModel.select().where(condition)


def get_model_row(actor: UserInfo | None, model_id: int) -> AiModel:
    row = next(iter(models_by_id([model_id])), None)
    if row is None or not can_view(actor, row):
        raise NotFound(f"no model with id {model_id}")
    return row


def get_model(actor: UserInfo | None, model_id: int) -> ModelRecord:
    record = next(iter(records_by_id([model_id])), None)
    if record is None or not can_view(actor, record):
        raise NotFound(f"no model with id {model_id}")
    return record


def _filtered(query, actor: UserInfo | None, q: ModelQuery):
    """``query`` (the models the actor may see) narrowed by the listing's filters."""
    if q.mine:
        query = query.where(AiModel.owner == (actor.id if actor else -1))
    if q.types:
        query = query.where(AiModel.type.in_([t.lower() for t in q.types]))
    if q.base_models:
        query = query.where(AiModel.base_model.in_(list(q.base_models)))
    if q.tag:
        query = query.where(AiModel.id.in_(ModelTag.select(ModelTag.model).join(Tag).where(Tag.name == q.tag.lower())))
    if q.username:
        from community.accounts import username_key
        query = query.join(User, on=(AiModel.owner == User.id)).where(User.username_key == username_key(q.username))
    if q.query.strip():
        from community.search import matching_model_ids
        query = query.where(AiModel.id.in_(matching_model_ids(q.query)))
    return query


def list_models(actor: UserInfo | None, q: ModelQuery) -> Page:
    sort = SORT_ALIASES.get(q.sort, q.sort) or "newest"
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {q.sort!r}: use one of {', '.join(SORTS)}")
    limit = min(max(int(q.limit or 20), 1), MAX_PAGE_SIZE)
    offset = decode_cursor(q.cursor) if q.cursor else (max(int(q.page or 1), 1) - 1) * limit
    total = _filtered(visible_models(actor), actor, q).count()
    page = (_filtered(_visible_in_sort_order(actor), actor, q).select(AiModel.id).order_by(*SORTS[sort])
            .offset(offset).limit(limit))
    return Page(tuple(records_by_id([row[0] for row in page.tuples()])), total, offset // limit + 1, limit)


def owned_models(actor: UserInfo | None) -> list[tuple[int, str]]:
    """(id, name) of every model the actor owns, newest first (e.g. the choices for "add a version")."""
    if actor is None:
        return []
    rows = (AiModel.select(AiModel.id, AiModel.name).where(AiModel.owner == actor.id)
            .order_by(AiModel.created_at.desc(), AiModel.id.desc()))
    return [(row.id, row.name) for row in rows]


def find_version_by_hash(actor: UserInfo | None, file_hash: str) -> tuple[ModelRecord, VersionRecord]:
    """The version holding a file with this SHA-256 or AutoV2 (any case)."""
    value = (file_hash or "").strip().lower()
    if len(value) == 64:
        row = ModelFile.get_or_none(ModelFile.sha256 == value)
    elif len(value) == 10:
        row = ModelFile.select().where(ModelFile.autov2 == value).first()
    else:
        raise InvalidInput("give a SHA-256 (64 hex characters) or an AutoV2 hash (10 hex characters)")
    if row is None:
        raise NotFound(f"no file with hash {file_hash.upper()}")
    return get_version(actor, row.version_id)


def get_version(actor: UserInfo | None, version_id: int) -> tuple[ModelRecord, VersionRecord]:
    version = ModelVersion.get_or_none(ModelVersion.id == version_id)
    if version is None:
        raise NotFound(f"no model version with id {version_id}")
    model = get_model(actor, version.model_id)
    return model, next(v for v in model.versions if v.id == version_id)


def holder_of(sha256: str) -> str | None:
    """Describes the model that already holds a file with this hash, for duplicate messages."""
    row = (ModelFile.select(ModelFile, ModelVersion, AiModel).join(ModelVersion).join(AiModel)
           .where(ModelFile.sha256 == sha256).first())
    return None if row is None else f"'{row.version.model.name}' (id {row.version.model_id})"


def list_files(actor: UserInfo | None, text: str, page: int = 1, limit: int = 20) -> Page:
    """Files whose original name matches ``text``, among models the actor may see: items are (model_id, FileRecord)."""
    from community.search import matching_file_ids

    limit = min(max(limit, 1), MAX_PAGE_SIZE)
    query = (ModelFile.select(ModelFile, ModelVersion.model).join(ModelVersion).join(AiModel)
             .where(visible_to(actor)))
    if text.strip():
        query = query.where(ModelFile.id.in_(matching_file_ids(text)))
    total = query.count()
    rows = query.order_by(ModelFile.id.desc()).offset((page - 1) * limit).limit(limit)
    return Page(tuple((row.version.model_id, file_record(row)) for row in rows), total, page, limit)


@dataclass(frozen=True)
class DownloadTarget:
    file_id: int
    stored_path: str
    original_name: str
    size: int
    format: str


def download_target(actor: UserInfo | None, version_id: int, file_id: int | None) -> DownloadTarget:
    """The file a download link points at, if the actor may see its model (else NotFound)."""
    _, version = get_version(actor, version_id)
    files = [f for f in version.files if file_id is None or f.id == file_id]
    if not files:
        raise NotFound(f"no file {file_id} in model version {version_id}")
    chosen = next((f for f in files if f.is_primary), files[0])
    if chosen.format == "diffusers":
        raise InvalidInput("this model is a diffusers folder; it cannot be downloaded as one file")
    return DownloadTarget(chosen.id, chosen.stored_path, chosen.original_name, chosen.size, chosen.format)


def count_download(store, version_id: int) -> None:
    with store.write():
        version = ModelVersion.get_by_id(version_id)
        ModelVersion.update(download_count=ModelVersion.download_count + 1).where(ModelVersion.id == version_id).execute()
        AiModel.update(download_count=AiModel.download_count + 1).where(AiModel.id == version.model_id).execute()
