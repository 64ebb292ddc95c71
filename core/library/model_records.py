"""Model, version and file records: the plain values every layer reads, built with a fixed number of queries.

A model page and a listing page are the most read things on the site, so
their queries go through ``core.compiled_sql`` (SQL text written once per
shape) and their rows are read as tuples, not peewee objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Sequence

from peewee import JOIN

from core.compiled_sql import rows_for_ids
from core.store import iso_stored, joined_text
from core.tables import AiModel, Image, ModelFile, ModelTag, ModelVersion, Tag, User

TAG_SEPARATOR = "\n"  # tag names never hold one (core.library.library_edit.TAG_PATTERN)
COMMERCIAL_USES = ("Image", "RentCivit", "Rent", "Sell")  # Civitai's CommercialUse values ("None": none of them)


@dataclass(frozen=True)
class Licence:
    """What the owner lets others do with the model, Civitai's terms; the defaults are Civitai's."""

    allow_no_credit: bool = True
    allow_commercial_use: tuple[str, ...] = COMMERCIAL_USES
    allow_derivatives: bool = True
    allow_different_license: bool = True


def commercial_uses(stored: str) -> tuple[str, ...]:
    return tuple(use for use in stored.split(",") if use)


@dataclass(frozen=True)
class FileRecord:
    id: int
    version_id: int
    original_name: str
    stored_path: str
    size: int
    sha256: str
    autov2: str
    autov1: str | None  # the other hashes (core.library.file_hashes): None where they do not apply, or for a
    autov3: str | None  # file stored before they were computed until a scan fills them in
    crc32: str | None
    blake3: str | None
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
    thumbs_up: int = 0  # reviews recommending it (community.reviews)
    thumbs_down: int = 0


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
    licence: Licence = Licence()
    rating: str = "safe"  # safe, mature or explicit (core.tables.RATINGS)
    thumbs_up: int = 0  # reviews recommending it, over all its versions (community.reviews)
    thumbs_down: int = 0


def _metadata(text: str | None) -> dict:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


FILE_COLUMNS = (ModelFile.id, ModelFile.original_name, ModelFile.stored_path, ModelFile.size, ModelFile.sha256,
                ModelFile.autov2, ModelFile.autov1, ModelFile.autov3, ModelFile.crc32, ModelFile.blake3, ModelFile.format,
                ModelFile.metadata, ModelFile.scan_result, ModelFile.is_primary, ModelFile.created_at)


def file_record(row: ModelFile) -> FileRecord:
    return file_record_of(row.version_id, [getattr(row, column.name) for column in FILE_COLUMNS])


def file_record_of(version_id: int, values: Sequence) -> FileRecord:
    """A FileRecord from the values of ``FILE_COLUMNS``, raw from the database (no peewee object in between)
    or read from a row."""
    (file_id, name, stored, size, sha256, autov2, autov1, autov3, crc32, blake3, kind, metadata, scan, primary,
     created) = values
    return FileRecord(file_id, version_id, name, stored, size, sha256, autov2, autov1, autov3, crc32, blake3, kind,
                      _metadata(metadata), scan, bool(primary), iso_stored(created))


def _models_by_id(ids: list[int]):
    return AiModel.select().where(AiModel.id.in_(ids))


def models_by_id(ids: Sequence[int]) -> list[AiModel]:
    """The model rows with these ids (any order), as peewee objects."""
    fields = AiModel._meta.sorted_fields
    return [AiModel(**{f.name: f.python_value(value) for f, value in zip(fields, row)})
            for row in rows_for_ids(AiModel._meta.database, _models_by_id, list(ids))]


_VERSION_FILE_COLUMNS = (ModelVersion.id, ModelVersion.model, ModelVersion.name, ModelVersion.base_model,
                         ModelVersion.created_at, ModelVersion.download_count, ModelVersion.default_weight,
                         ModelVersion.thumbs_up_count, ModelVersion.thumbs_down_count, *FILE_COLUMNS)
_FIRST_FILE_COLUMN = 9


def _versions_and_files(ids: list[int]):
    return (ModelVersion.select(*_VERSION_FILE_COLUMNS).join(ModelFile, JOIN.LEFT_OUTER)
            .where(ModelVersion.model.in_(ids))
            .order_by(ModelVersion.id.desc(), ModelFile.is_primary.desc(), ModelFile.id))


def _versions_of(model_ids: Sequence[int]) -> dict[int, list[VersionRecord]]:
    """Versions (newest first) with their files (primary first), in one query."""
    files: dict[int, list[FileRecord]] = {}
    versions: dict[int, tuple] = {}
    for row in rows_for_ids(AiModel._meta.database, _versions_and_files, list(model_ids)):
        versions.setdefault(row[0], row)
        if row[_FIRST_FILE_COLUMN] is not None:
            files.setdefault(row[0], []).append(file_record_of(row[0], row[_FIRST_FILE_COLUMN:]))
    by_model: dict[int, list[VersionRecord]] = {}
    for version_id, model_id, name, base_model, created, downloads, weight, up, down, *_ in versions.values():
        by_model.setdefault(model_id, []).append(VersionRecord(
            version_id, model_id, name, base_model, iso_stored(created), downloads, weight,
            tuple(files.get(version_id, ())), up or 0, down or 0))
    return by_model


@dataclass(frozen=True)
class _Extras:
    owner: str
    cover_image: str | None
    tags: tuple[str, ...]


def _owner_cover_tags(ids: list[int]):
    # A cover never rates above its model: a safe model's card shows a safe picture.
    fits = (Image.rating == "safe") | (Image.rating == AiModel.rating) | (AiModel.rating == "explicit")
    cover = (Image.select(Image.path).where(Image.model == AiModel.id, Image.published == True, fits)  # noqa: E712
             .order_by(Image.id.desc()).limit(1))
    tags = ModelTag.select(joined_text(Tag.name, TAG_SEPARATOR)).join(Tag).where(ModelTag.model == AiModel.id)
    return (AiModel.select(AiModel.id, User.username, cover.alias("cover"), tags.alias("tags"))
            .join(User, JOIN.LEFT_OUTER, on=(AiModel.owner == User.id)).where(AiModel.id.in_(ids)))


def _extras_of(model_ids: Sequence[int]) -> dict[int, _Extras]:
    """Owner name, cover (newest published image made with it) and sorted tags per model, in one query."""
    rows = rows_for_ids(AiModel._meta.database, _owner_cover_tags, list(model_ids))
    return {model_id: _Extras(owner or "", cover, tuple(sorted(names.split(TAG_SEPARATOR))) if names else ())
            for model_id, owner, cover, names in rows}


_MODEL_COLUMNS = (AiModel.id, AiModel.name, AiModel.type, AiModel.base_model, AiModel.description,
                  AiModel.trigger_words, AiModel.visibility, AiModel.owner, AiModel.source, AiModel.is_demo,
                  AiModel.created_at, AiModel.updated_at, AiModel.like_count, AiModel.download_count,
                  AiModel.comment_count, AiModel.preview_path, AiModel.allow_no_credit, AiModel.allow_commercial_use,
                  AiModel.allow_derivatives, AiModel.allow_different_license, AiModel.rating, AiModel.thumbs_up_count,
                  AiModel.thumbs_down_count)


def _model_columns(ids: list[int]):
    return AiModel.select(*_MODEL_COLUMNS).where(AiModel.id.in_(ids))


def records_by_id(model_ids: Sequence[int]) -> list[ModelRecord]:
    """Records of the models with these ids, in that order (ids not found are left out); four queries."""
    ids = list(model_ids)
    rows = {row[0]: row for row in rows_for_ids(AiModel._meta.database, _model_columns, ids)}
    found = [model_id for model_id in ids if model_id in rows]
    if not found:
        return []
    versions, extras = _versions_of(found), _extras_of(found)
    return [_record(rows[model_id], extras[model_id], tuple(versions.get(model_id, ()))) for model_id in found]


def model_records(rows: Iterable[AiModel]) -> list[ModelRecord]:
    """Records for these model rows, in their order, with a fixed number of queries (no N+1)."""
    return records_by_id([row.id for row in rows])


def _record(row: tuple, extras: _Extras, versions: tuple[VersionRecord, ...]) -> ModelRecord:
    (model_id, name, kind, base_model, description, trigger_words, visibility, owner_id, source, is_demo, created,
     updated, likes, downloads, comments, preview, no_credit, commercial, derivatives, different_license, rating,
     thumbs_up, thumbs_down) = row
    return ModelRecord(
        model_id, name, kind, base_model, description, extras.tags, tuple(w for w in trigger_words.split("\n") if w),
        visibility, owner_id, extras.owner, source, bool(is_demo), iso_stored(created), iso_stored(updated), likes,
        downloads, comments, extras.cover_image, versions, preview,
        Licence(bool(no_credit), commercial_uses(commercial), bool(derivatives), bool(different_license)),
        rating or "safe", thumbs_up or 0, thumbs_down or 0)
