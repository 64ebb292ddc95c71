"""Changing the model library: upload a model or a version, edit, delete, count downloads.

Authorization lives here, not in the API or UI: only the owner or an admin
changes a model; visitors get NotAuthenticated, others Forbidden.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from core import notifications
from core.accounts.accounts import UserInfo, record_admin_action
from core.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from core.library.base_models import BASE_MODELS, stored_name
from core.library.file_hashes import hash_columns
from core.library.ingest import StagedFile, StoredFile, discard, store_staged
from core.library.library import get_model, get_model_row, holder_of
from core.library.model_records import COMMERCIAL_USES, ModelRecord
from core.store import Store, utcnow
from core.tables import HIDDEN, MODEL_TYPES, RATINGS, VISIBILITIES, AiModel, ModelFile, ModelTag, ModelVersion, Tag

MAX_TAGS = 20
MAX_DESCRIPTION_CHARS = 50_000
TAG_PATTERN = re.compile(r"^[\w .+#-]{1,64}$")


@dataclass(frozen=True)
class ModelFields:
    """Editable metadata; ``None`` means "keep" (edit) or "detect" (upload)."""

    name: str | None = None
    type: str | None = None
    base_model: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None
    trigger_words: tuple[str, ...] | None = None
    visibility: str | None = None
    # The licence, Civitai's terms (``None``: keep, or Civitai's default on upload: everything allowed).
    allow_no_credit: bool | None = None
    allow_commercial_use: tuple[str, ...] | None = None  # of COMMERCIAL_USES; () or ("None",): none of them
    allow_derivatives: bool | None = None
    allow_different_license: bool | None = None
    rating: str | None = None  # safe, mature or explicit (``None``: keep, or safe on upload)


def require_login(actor: UserInfo | None) -> UserInfo:
    if actor is None:
        raise NotAuthenticated("log in first")
    return actor


def require_owner(actor: UserInfo | None, model: AiModel) -> UserInfo:
    actor = require_login(actor)
    if not (actor.is_admin or actor.id == model.owner_id):
        raise Forbidden("only the model's owner or an admin can do this")
    return actor


def require_owner_or_moderator(actor: UserInfo | None, model: AiModel) -> UserInfo:
    actor = require_login(actor)
    if not (actor.can_moderate or actor.id == model.owner_id):
        raise Forbidden("only the model's owner or a moderator can do this")
    return actor


def split_list(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...] | None:
    """Tags or trigger words from a comma/newline-joined string or a list."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,\n]", value)
    seen: dict[str, None] = {}
    for item in items:
        for part in re.split(r"[,\n]", item):
            if part.strip():
                seen.setdefault(part.strip(), None)
    return tuple(seen)


# The licence's true/false fields -> their names in Civitai's JSON (and in messages about them).
LICENCE_FLAGS = {"allow_no_credit": "allowNoCredit", "allow_derivatives": "allowDerivatives",
                 "allow_different_license": "allowDifferentLicense"}


def stored_commercial_use(uses: tuple[str, ...]) -> str:
    """The commercial uses as stored (comma-joined, in Civitai's order); ``"None"`` alone means none of them."""
    unknown = [use for use in uses if use not in COMMERCIAL_USES + ("None",)]
    if unknown:
        raise InvalidInput(f"allowCommercialUse: unknown {', '.join(map(repr, unknown))}; "
                           f"use None or any of {', '.join(COMMERCIAL_USES)}")
    if "None" in uses and len(set(uses)) > 1:
        raise InvalidInput("allowCommercialUse: None cannot be combined with other uses")
    return ",".join(use for use in COMMERCIAL_USES if use in uses)


def _licence_columns(fields: ModelFields) -> dict:
    """The licence columns ``fields`` sets (checked); the ones left ``None`` are not in it."""
    columns = {}
    for name, api_name in LICENCE_FLAGS.items():
        value = getattr(fields, name)
        if value is not None:
            if not isinstance(value, bool):
                raise InvalidInput(f"{api_name} must be true or false")
            columns[name] = value
    if fields.allow_commercial_use is not None:
        columns["allow_commercial_use"] = stored_commercial_use(tuple(fields.allow_commercial_use))
    return columns


def _check_fields(fields: ModelFields) -> None:
    if fields.name is not None and not 1 <= len(fields.name.strip()) <= 200:
        raise InvalidInput("the model name must be 1-200 characters")
    if fields.type is not None and fields.type not in MODEL_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(MODEL_TYPES)}")
    if fields.base_model is not None and stored_name(fields.base_model) is None:
        raise InvalidInput(f"base model must be one of {', '.join(BASE_MODELS)}")
    if fields.visibility is not None and fields.visibility not in VISIBILITIES:
        raise InvalidInput("visibility must be public or private")
    if fields.rating is not None and fields.rating not in RATINGS:
        raise InvalidInput("rating must be safe, mature or explicit")
    if fields.description is not None and len(fields.description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput("the description can be at most 50,000 characters")
    for tag in fields.tags or ():
        if not TAG_PATTERN.fullmatch(tag):
            raise InvalidInput(f"invalid tag {tag!r}: 1-64 letters, digits, spaces or . + # - _")
    if fields.tags is not None and len(fields.tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    if fields.trigger_words is not None and (len(fields.trigger_words) > 50
                                             or any(len(w) > 200 for w in fields.trigger_words)):
        raise InvalidInput("at most 50 trigger words of up to 200 characters")
    _licence_columns(fields)


def _set_tags(model_id: int, tags: tuple[str, ...]) -> None:
    ModelTag.delete().where(ModelTag.model == model_id).execute()
    for name in {t.lower() for t in tags}:
        tag, _ = Tag.get_or_create(name=name)
        ModelTag.create(model=model_id, tag=tag)


def _add_file_rows(version: ModelVersion, stored: StoredFile) -> None:
    ModelFile.create(version=version, original_name=stored.original_name, stored_path=stored.stored_path,
                     size=stored.size, **hash_columns(stored.hashes), format="safetensors"
                     if stored.info.format != "diffusers" else "diffusers",
                     metadata=json.dumps(stored.info.metadata), scan_result=stored.scan_result)


def _stored(models_dir: Path, staged: StagedFile, allow_pickle: bool, actor: UserInfo) -> StoredFile:
    return store_staged(models_dir, staged, functools.partial(holder_of, actor), allow_pickle)


def create_model(store: Store, models_dir: Path, actor: UserInfo | None, staged: StagedFile, fields: ModelFields,
                 *, allow_pickle: bool = False, version_name: str = "v1") -> ModelRecord:
    """A new model from an uploaded file; type and base model default to what the file says."""
    try:
        actor = require_login(actor)
        _check_fields(fields)
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    stored = _stored(models_dir, staged, allow_pickle, actor)
    try:
        with store.write():
            base = stored_name(fields.base_model) if fields.base_model else stored.info.base_model
            model = AiModel.create(
                owner=actor.id, name=(fields.name or Path(stored.original_name).stem).strip()[:200],
                type=fields.type or stored.info.model_type, base_model=base, description=fields.description or "",
                trigger_words="\n".join(fields.trigger_words or ()), visibility=fields.visibility or "public",
                rating=fields.rating or "safe", **_licence_columns(fields))
            _set_tags(model.id, fields.tags or ())
            version = ModelVersion.create(model=model, name=version_name, base_model=base)
            _add_file_rows(version, stored)
            if model.visibility == "public":
                notifications.notify_followers(actor.id, notifications.NEW_MODEL, model=model.id)
    except BaseException:
        discard(stored)
        raise
    return get_model(actor, model.id)


def add_version(store: Store, models_dir: Path, actor: UserInfo | None, model_id: int, staged: StagedFile,
                name: str, *, allow_pickle: bool = False) -> ModelRecord:
    try:
        model = get_model_row(actor, model_id)
        require_owner(actor, model)
        if not 1 <= len((name or "").strip()) <= 200:
            raise InvalidInput("the version name must be 1-200 characters")
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    stored = _stored(models_dir, staged, allow_pickle, actor)
    try:
        with store.write():
            version = ModelVersion.create(model=model, name=name.strip(), base_model=stored.info.base_model)
            _add_file_rows(version, stored)
            AiModel.update(updated_at=utcnow()).where(AiModel.id == model.id).execute()
    except BaseException:
        discard(stored)
        raise
    return get_model(actor, model_id)


def update_model(store: Store, actor: UserInfo | None, model_id: int, fields: ModelFields) -> ModelRecord:
    """Change a model's fields (its owner, or an admin); a moderator may change its rating alone."""
    model = get_model_row(actor, model_id)
    rating_only = fields == ModelFields(rating=fields.rating) and fields.rating is not None
    actor = require_owner_or_moderator(actor, model) if rating_only else require_owner(actor, model)
    if fields.visibility == model.visibility:  # unchanged (a form sends every field)
        fields = dataclasses.replace(fields, visibility=None)
    _check_fields(fields)
    if model.visibility == HIDDEN and fields.visibility is not None and not actor.can_moderate:
        raise Forbidden("only a moderator can show this model again: a moderator hid it")
    changes = {key: getattr(fields, key) for key in ("name", "type", "base_model", "description", "visibility",
                                                     "rating") if getattr(fields, key) is not None}
    if fields.base_model is not None:
        changes["base_model"] = stored_name(fields.base_model)
    if fields.trigger_words is not None:
        changes["trigger_words"] = "\n".join(fields.trigger_words)
    changes.update(_licence_columns(fields))
    with store.write():
        AiModel.update(**changes, updated_at=utcnow()).where(AiModel.id == model_id).execute()
        if "base_model" in changes:  # the versions that had the model's base model follow it
            ModelVersion.update(base_model=changes["base_model"]).where(
                (ModelVersion.model == model_id) & (ModelVersion.base_model == model.base_model)).execute()
        if fields.tags is not None:
            _set_tags(model_id, fields.tags)
        if model.visibility != "public" and changes.get("visibility") == "public":  # published now: tell followers
            notifications.notify_followers(model.owner_id, notifications.NEW_MODEL, model=model_id)
        if actor.id != model.owner_id:
            record_admin_action(actor, "rate_model" if rating_only else "edit_model", f"model:{model_id}")
    return get_model(actor, model_id)


def _remove_files(models_dir: Path, stored_paths: list[str]) -> None:
    """Delete bytes after their rows are gone (a crash in between leaves an orphan, never a dangling row)."""
    import shutil

    for rel in stored_paths:
        path = (models_dir / rel)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _delete(store: Store, models_dir: Path, actor: UserInfo, model: AiModel, row, paths: list[str],
            audit: str) -> None:
    """Delete ``row`` (model, version or file; the database cascades), audit an admin's deletion of someone
    else's model, then remove the bytes."""
    action, _, target = audit.partition(" ")
    with store.write():
        row.delete_instance()
        if actor.id != model.owner_id:
            record_admin_action(actor, action, target)
    _remove_files(models_dir, paths)


def delete_model(store: Store, models_dir: Path, actor: UserInfo | None, model_id: int) -> None:
    model = get_model_row(actor, model_id)
    actor = require_owner_or_moderator(actor, model)
    paths = [f.stored_path for f in ModelFile.select().join(ModelVersion).where(ModelVersion.model == model_id)]
    _delete(store, models_dir, actor, model, model, paths, f"delete_model model:{model_id}:{model.name}")


def delete_version(store: Store, models_dir: Path, actor: UserInfo | None, version_id: int) -> None:
    version = ModelVersion.get_or_none(ModelVersion.id == version_id)
    if version is None:
        raise NotFound(f"no model version with id {version_id}")
    model = get_model_row(actor, version.model_id)
    actor = require_owner_or_moderator(actor, model)
    if model.versions.count() == 1:
        return delete_model(store, models_dir, actor, model.id)
    paths = [f.stored_path for f in version.files]
    _delete(store, models_dir, actor, model, version, paths, f"delete_version version:{version_id}")


def delete_file(store: Store, models_dir: Path, actor: UserInfo | None, file_id: int) -> None:
    row = ModelFile.get_or_none(ModelFile.id == file_id)
    if row is None:
        raise NotFound(f"no file with id {file_id}")
    model = get_model_row(actor, row.version.model_id)
    actor = require_owner(actor, model)
    if row.version.files.count() == 1:
        return delete_version(store, models_dir, actor, row.version_id)
    _delete(store, models_dir, actor, model, row, [row.stored_path], f"delete_file file:{file_id}")



def import_from_hub(store: Store, models_dir: Path, actor: UserInfo | None, repo_id: str, filename: str | None,
                    revision: str | None, fields: ModelFields, *, max_bytes: int,
                    progress=None) -> ModelRecord:
    """Download one file from the Hugging Face Hub and ingest it like an upload."""
    import tempfile

    from core.library.hf_import import download_from_hub
    from core.library.ingest import HUB_PREFIX, incoming_dir, stage_local_file

    actor = require_login(actor)
    _check_fields(fields)
    with tempfile.TemporaryDirectory(dir=incoming_dir(models_dir), prefix=HUB_PREFIX) as folder:
        path = download_from_hub(repo_id, filename, revision, Path(folder), progress=progress)
        staged = stage_local_file(models_dir, path, path.name, max_bytes)
    named = fields if fields.name else ModelFields(**{**fields.__dict__, "name": Path(path.name).stem})
    record = create_model(store, models_dir, actor, staged, named, version_name=revision or "main")
    with store.write():
        AiModel.update(source="hub").where(AiModel.id == record.id).execute()
    return get_model(actor, record.id)
