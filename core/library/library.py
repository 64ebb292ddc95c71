"""Reading the model library: records, visibility, listings, hash lookup.

Returns frozen dataclasses; the API turns them into Civitai-shaped JSON and
the UI into cards and pages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from peewee import SQL, NodeList, SqliteDatabase, fn

from core import events
from core.accounts.accounts import UserInfo
from core.errors import InvalidInput, NotFound
from core.events import DownloadEvent
from core.library import trending
from core.library.model_filters import ModelFilters, image_count, named_filters, narrowed, since
from core.library.model_records import (
    ModelRecord,
    VersionRecord,
    file_record,
    models_by_id,
    records_by_id,
)
from core.paging import MAX_PAGE_SIZE, Page, decode_cursor, paginate
from core.search import FILES
from core.search.engine import matching_ids
from core.store import holds_text
from core.tables import HIDDEN, AiModel, ModelFile, ModelTag, ModelVersion, Tag

SORTS = {
    "newest": (AiModel.created_at.desc(), AiModel.id.desc()),
    "oldest": (AiModel.created_at, AiModel.id),
    "most_liked": (AiModel.like_count.desc(), AiModel.id.desc()),
    "highest_rated": (AiModel.thumbs_up_count.desc(), AiModel.thumbs_down_count, AiModel.id.desc()),
    "most_downloaded": (AiModel.download_count.desc(), AiModel.id.desc()),
    "most_discussed": (AiModel.comment_count.desc(), AiModel.id.desc()),
    "most_images": (image_count().desc(), AiModel.id.desc()),
}
# Civitai's names for the same sorts.
SORT_ALIASES = {"Newest": "newest", "Oldest": "oldest", "Highest Rated": "highest_rated", "Most Liked": "most_liked",
                "Most Downloaded": "most_downloaded", "Most Discussed": "most_discussed", "Most Commented": "most_discussed",
                "Most Images": "most_images"}


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
    filters: ModelFilters = ModelFilters()


def hides_unsafe(actor: UserInfo | None) -> bool:
    """Whether the actor asked for mature and explicit content to be left out (their own stays)."""
    return actor is not None and actor.content_view == "hide"


def can_view(actor: UserInfo | None, model: AiModel | ModelRecord) -> bool:
    """Public models for everyone; private ones for their owner and admins; hidden ones (a moderator's decision)
    for their owner and the moderators; what is not safe not for someone who hides it."""
    own = actor is not None and actor.id == model.owner_id
    if hides_unsafe(actor) and model.rating != "safe" and not own:
        return False
    if model.visibility == "public":
        return True
    return actor is not None and (actor.is_admin or own or (actor.is_moderator and model.visibility == HIDDEN))


def visible_to(actor: UserInfo | None):
    """The condition on ``AiModel`` rows the actor may see (to test per row in a join)."""
    if actor is None:
        return AiModel.visibility == "public"
    if actor.is_admin:
        seen = SQL("1 = 1")
    else:
        seen = (AiModel.visibility == "public") | (AiModel.owner == actor.id)
        seen = seen | (AiModel.visibility == HIDDEN) if actor.is_moderator else seen
    return seen & ((AiModel.rating == "safe") | (AiModel.owner == actor.id)) if hides_unsafe(actor) else seen


def visible_models(actor: UserInfo | None):
    return AiModel.select().where(visible_to(actor))


def _unindexed(field):
    """``+field`` on SQLite: the same value, but SQLite will not pick an index of that column for it."""
    return NodeList((SQL("+"), field), glue="") if isinstance(AiModel._meta.database, SqliteDatabase) else field


def _visible_in_sort_order(actor: UserInfo | None):
    """``visible_models`` for a sorted listing: SQLite walks the sort column's index in order, testing
    visibility row by row, and stops after one page.  Left to itself it reads every visible row through the
    visibility and owner indexes and sorts them all (10+ ms per page at 2,000 models)."""
    condition = None
    if actor is None or not actor.is_admin:
        condition = _unindexed(AiModel.visibility) == "public"
        if actor is not None:
            condition |= _unindexed(AiModel.owner) == actor.id
            if actor.is_moderator:
                condition |= _unindexed(AiModel.visibility) == HIDDEN
    if hides_unsafe(actor):
        safe = (_unindexed(AiModel.rating) == "safe") | (_unindexed(AiModel.owner) == actor.id)
        condition = safe if condition is None else condition & safe
    return AiModel.select() if condition is None else AiModel.select().where(condition)


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
    query = named_filters(query, actor, mine=q.mine, types=q.types, base_models=q.base_models, tag=q.tag,
                          username=q.username, text=q.query)
    return narrowed(query, actor, q.filters)


def list_models(actor: UserInfo | None, q: ModelQuery) -> Page:
    sort = SORT_ALIASES.get(q.sort, q.sort) or "newest"
    if sort not in SORTS:
        raise InvalidInput(f"sort: unknown {q.sort!r}; use one of {', '.join(SORT_ALIASES)}")
    limit = min(max(int(q.limit or 20), 1), MAX_PAGE_SIZE)
    offset = decode_cursor(q.cursor) if q.cursor else (max(int(q.page or 1), 1) - 1) * limit
    period = q.filters.period
    if sort in trending.MODEL_WINDOWS and since(period) is not None:  # the period's events rank (all models)
        q = replace(q, filters=replace(q.filters, period="AllTime"))
        ids = trending.ranked_ids(_filtered(_visible_in_sort_order(actor), actor, q), AiModel.id,
                                  trending.MODEL_WINDOWS[sort], period, offset, limit)
    else:
        page = (_filtered(_visible_in_sort_order(actor), actor, q).select(AiModel.id).order_by(*SORTS[sort])
                .offset(offset).limit(limit))
        ids = [row[0] for row in page.tuples()]
    total = _filtered(visible_models(actor), actor, q).count()
    return Page(tuple(records_by_id(ids)), total, offset // limit + 1, limit)


def owned_models(actor: UserInfo | None) -> list[tuple[int, str]]:
    """(id, name) of every model the actor owns, newest first (e.g. the choices for "add a version")."""
    if actor is None:
        return []
    rows = (AiModel.select(AiModel.id, AiModel.name).where(AiModel.owner == actor.id)
            .order_by(AiModel.created_at.desc(), AiModel.id.desc()))
    return [(row.id, row.name) for row in rows]


# Hex length -> the columns a hash of that length may be in: Civitai's kinds share lengths, so an 8-digit hash
# is tried as AutoV1 and as CRC32, a 64-digit one as SHA-256 and as BLAKE3.
HASH_COLUMNS_BY_LENGTH = {
    64: (ModelFile.sha256, ModelFile.blake3),
    12: (ModelFile.autov3,),
    10: (ModelFile.autov2,),
    8: (ModelFile.autov1, ModelFile.crc32),
}
HASH_KINDS = "SHA256 or BLAKE3 (64 hex characters), AutoV3 (12), AutoV2 (10), AutoV1 or CRC32 (8)"


def _hash_condition(value: str):
    """Where a file with this (lower-case hex) hash may be; a CRC32 is also tried in the conventional byte
    order, since Civitai writes it little-endian (``core.library.file_hashes.civitai_crc32``)."""
    condition = None
    for column in HASH_COLUMNS_BY_LENGTH[len(value)]:
        term = column == value
        condition = term if condition is None else condition | term
    if len(value) == 8:
        condition |= ModelFile.crc32 == bytes.fromhex(value)[::-1].hex()
    return condition


def find_version_by_hash(actor: UserInfo | None, file_hash: str) -> tuple[ModelRecord, VersionRecord]:
    """The version holding a file with this hash of any kind Civitai names (any case), among the versions the
    actor may see."""
    value = (file_hash or "").strip().lower()
    if len(value) not in HASH_COLUMNS_BY_LENGTH or not all(ch in "0123456789abcdef" for ch in value):
        raise InvalidInput(f"give a file hash: {HASH_KINDS}")
    row = (ModelFile.select(ModelFile.version).join(ModelVersion).join(AiModel)
           .where(_hash_condition(value), visible_to(actor)).order_by(ModelFile.id).first())
    if row is None:
        raise NotFound(f"no file with hash {value.upper()}")
    return get_version(actor, row.version_id)


def get_version(actor: UserInfo | None, version_id: int) -> tuple[ModelRecord, VersionRecord]:
    version = ModelVersion.get_or_none(ModelVersion.id == version_id)
    if version is None:
        raise NotFound(f"no model version with id {version_id}")
    try:
        model = get_model(actor, version.model_id)
    except NotFound:  # the same answer as for no version at all: the model's id stays private
        raise NotFound(f"no model version with id {version_id}") from None
    return model, next(v for v in model.versions if v.id == version_id)


def holder_of(actor: UserInfo | None, sha256: str) -> str | None:
    """Describes the model that already holds a file with this hash, for duplicate messages: None when no
    model does, "" when the actor may not see that model (its name and id stay private)."""
    row = (ModelFile.select(ModelFile, ModelVersion, AiModel).join(ModelVersion).join(AiModel)
           .where(ModelFile.sha256 == sha256).first())
    if row is None:
        return None
    model = row.version.model
    return f"'{model.name}' (id {model.id})" if can_view(actor, model) else ""


def list_files(actor: UserInfo | None, text: str, page: int = 1, limit: int = 20) -> Page:
    """Files whose original name matches ``text``, among models the actor may see: items are (model_id, FileRecord)."""
    limit = min(max(limit, 1), MAX_PAGE_SIZE)
    query = (ModelFile.select(ModelFile, ModelVersion.model).join(ModelVersion).join(AiModel)
             .where(visible_to(actor)))
    if text.strip():
        query = query.where(ModelFile.id.in_(matching_ids(FILES, text)))
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
    """One more download: the counts, and the event the period rankings count (``core.library.trending``)."""
    with store.write():
        version = ModelVersion.get_by_id(version_id)
        store.lock_row(AiModel, version.model_id)
        ModelVersion.update(download_count=ModelVersion.download_count + 1).where(ModelVersion.id == version_id).execute()
        AiModel.update(download_count=AiModel.download_count + 1).where(AiModel.id == version.model_id).execute()
        DownloadEvent.insert(model=version.model_id, version=version_id).execute()
        events.recount(events.MODEL_DOWNLOADS, version.model_id)


def list_tags(actor: UserInfo | None, text: str = "", page: int = 1, limit: int = 20) -> Page:
    """Tags (their names holding ``text``), most used first, with how many models the actor may see carry each:
    a Page of ``(name, model_count)``."""
    count = fn.COUNT(ModelTag.id)
    query = (Tag.select(Tag.name, count.alias("models")).join(ModelTag).join(AiModel).where(visible_to(actor))
             .group_by(Tag.id))
    if text.strip():
        query = query.where(holds_text(Tag.name, text.strip().lower()))
    return paginate(query.order_by(count.desc(), Tag.name).tuples(), page, limit, list, max_size=200)
