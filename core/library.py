"""Reading the model library: records, visibility, listings, hash lookup.

Returns frozen dataclasses; the API turns them into Civitai-shaped JSON and
the UI into cards and pages.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from peewee import JOIN, SQL, fn

from community.accounts import UserInfo
from core.errors import InvalidInput, NotFound
from core.store import AiModel, Image, ModelFile, ModelTag, ModelVersion, Tag, User, iso

SORTS = {
    "newest": (AiModel.created_at.desc(), AiModel.id.desc()),
    "most_liked": (AiModel.like_count.desc(), AiModel.id.desc()),
    "most_downloaded": (AiModel.download_count.desc(), AiModel.id.desc()),
}
# Civitai's names for the same sorts.
SORT_ALIASES = {"Newest": "newest", "Highest Rated": "most_liked", "Most Liked": "most_liked",
                "Most Downloaded": "most_downloaded"}
MAX_PAGE_SIZE = 100
TAG_SEPARATOR = "\n"  # tag names never hold one (core.library_edit.TAG_PATTERN)


@dataclass(frozen=True)
class FileRecord:
    id: int
    version_id: int
    original_name: str
    stored_path: str
    size: int
    sha256: str
    autov2: str
    format: str
    metadata: dict
    scan_result: str
    is_primary: bool
    created_at: str


@dataclass(frozen=True)
class VersionRecord:
    id: int
    model_id: int
    name: str
    base_model: str
    created_at: str
    download_count: int
    default_weight: float | None
    files: tuple[FileRecord, ...]


@dataclass(frozen=True)
class ModelRecord:
    id: int
    name: str
    type: str
    base_model: str
    description: str
    tags: tuple[str, ...]
    trigger_words: tuple[str, ...]
    visibility: str
    owner_id: int
    owner: str
    source: str
    is_demo: bool
    created_at: str
    updated_at: str
    like_count: int
    download_count: int
    comment_count: int
    cover_image: str | None  # newest published image made with it, relative to outputs_dir
    versions: tuple[VersionRecord, ...]
    preview_path: str | None = None  # a preview picture beside a local file, relative to models_dir


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


def can_view(actor: UserInfo | None, model: AiModel) -> bool:
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


def file_record(row: ModelFile) -> FileRecord:
    try:
        metadata = json.loads(row.metadata or "{}")
    except ValueError:
        metadata = {}
    return FileRecord(row.id, row.version_id, row.original_name, row.stored_path, row.size, row.sha256, row.autov2,
                      row.format, metadata, row.scan_result, row.is_primary, iso(row.created_at))


def _versions_of(model_ids: Sequence[int]) -> dict[int, list[VersionRecord]]:
    """Versions (newest first) with their files (primary first), in one query."""
    rows = (ModelVersion.select(ModelVersion, ModelFile).join(ModelFile, JOIN.LEFT_OUTER)
            .where(ModelVersion.model.in_(model_ids))
            .order_by(ModelVersion.id.desc(), ModelFile.is_primary.desc(), ModelFile.id))
    files: dict[int, list[FileRecord]] = {}
    versions: dict[int, ModelVersion] = {}
    for row in rows:
        versions.setdefault(row.id, row)
        if row.modelfile is not None:
            files.setdefault(row.id, []).append(file_record(row.modelfile))
    by_model: dict[int, list[VersionRecord]] = {}
    for v in versions.values():
        by_model.setdefault(v.model_id, []).append(VersionRecord(
            v.id, v.model_id, v.name, v.base_model, iso(v.created_at), v.download_count, v.default_weight,
            tuple(files.get(v.id, ()))))
    return by_model


@dataclass(frozen=True)
class _Extras:
    owner: str
    cover_image: str | None
    tags: tuple[str, ...]


def _extras_of(model_ids: Sequence[int]) -> dict[int, _Extras]:
    """Owner name, cover (newest published image made with it) and sorted tags per model, in one query."""
    cover = (Image.select(Image.path).where(Image.model == AiModel.id, Image.published == True)  # noqa: E712
             .order_by(Image.id.desc()).limit(1))
    tags = ModelTag.select(fn.group_concat(Tag.name, TAG_SEPARATOR)).join(Tag).where(ModelTag.model == AiModel.id)
    rows = (AiModel.select(AiModel.id, User.username, cover.alias("cover"), tags.alias("tags"))
            .join(User, JOIN.LEFT_OUTER, on=(AiModel.owner == User.id)).where(AiModel.id.in_(model_ids)).tuples())
    return {model_id: _Extras(owner or "", cover, tuple(sorted(names.split(TAG_SEPARATOR))) if names else ())
            for model_id, owner, cover, names in rows}


def model_records(rows: Iterable[AiModel]) -> list[ModelRecord]:
    """Records for many models with a fixed number of queries (no N+1)."""
    rows = list(rows)
    ids = [row.id for row in rows]
    if not ids:
        return []
    versions, extras = _versions_of(ids), _extras_of(ids)
    return [_record(row, extras[row.id], tuple(versions.get(row.id, ()))) for row in rows]


def _record(row: AiModel, extras: _Extras, versions: tuple[VersionRecord, ...]) -> ModelRecord:
    return ModelRecord(
        row.id, row.name, row.type, row.base_model, row.description, extras.tags,
        tuple(w for w in row.trigger_words.split("\n") if w), row.visibility, row.owner_id, extras.owner, row.source,
        row.is_demo, iso(row.created_at), iso(row.updated_at), row.like_count, row.download_count, row.comment_count,
        extras.cover_image, versions, row.preview_path,
    )


def get_model_row(actor: UserInfo | None, model_id: int) -> AiModel:
    row = AiModel.get_or_none(AiModel.id == model_id)
    if row is None or not can_view(actor, row):
        raise NotFound(f"no model with id {model_id}")
    return row


def get_model(actor: UserInfo | None, model_id: int) -> ModelRecord:
    return model_records([get_model_row(actor, model_id)])[0]


def _filtered(actor: UserInfo | None, q: ModelQuery):
    query = visible_models(actor)
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
    query = _filtered(actor, q)
    total = query.count()
    rows = query.order_by(*SORTS[sort]).offset(offset).limit(limit)
    return Page(tuple(model_records(rows)), total, offset // limit + 1, limit)


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
