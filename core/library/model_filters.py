"""The filters of a model listing (Civitai's ``/models`` parameters) as conditions on ``AiModel`` rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import Value, fn

from core.accounts.accounts import UserInfo, username_key
from core.errors import InvalidInput, NotAuthenticated
from core.events import PERIODS, period_start
from core.library.base_models import matching_names
from core.library.model_records import COMMERCIAL_USES
from core.search import MODELS
from core.search.engine import matching_ids
from core.store import holds_text
from core.tables import AiModel, Image, ModelFile, ModelLike, ModelTag, ModelVersion, Tag, User

# Civitai's file formats and the formats stored here that they name.
# (pickles are converted to safetensors on import, so none is stored as one).
FILE_FORMATS = {"SafeTensor": ("safetensors",), "PickleTensor": (), "Diffusers": ("diffusers",), "Other": ()}
GENERATION_KINDS = ("checkpoint", "lora")  # the kinds txt2img here can use


@dataclass(frozen=True)
class ModelFilters:
    """Civitai's narrowing parameters; empty or None means "any"."""

    ids: tuple[int, ...] = ()
    version_ids: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    file_formats: tuple[str, ...] = ()
    period: str = "AllTime"
    min_rating: float | None = None
    nsfw: bool | None = None  # False: safe models only; True or None: whatever the viewer's setting shows
    favorites: bool = False
    supports_generation: bool | None = None
    allow_no_credit: bool | None = None
    allow_derivatives: bool | None = None
    allow_different_license: bool | None = None
    allow_commercial_use: tuple[str, ...] = ()


def since(period: str) -> dt.datetime | None:
    """The earliest moment a listing over ``period`` reaches back to (None: all time)."""
    if period not in PERIODS:
        raise InvalidInput(f"period: use one of {', '.join(PERIODS)}")
    return period_start(period)


def _stored_formats(names: tuple[str, ...]) -> list[str]:
    unknown = [name for name in names if name not in FILE_FORMATS]
    if unknown:
        raise InvalidInput(f"fileFormats: unknown {', '.join(unknown)}; use {', '.join(FILE_FORMATS)}")
    return [stored for name in names for stored in FILE_FORMATS[name]]


def _commercial_condition(uses: tuple[str, ...]):
    unknown = [use for use in uses if use not in COMMERCIAL_USES + ("None",)]
    if unknown:
        raise InvalidInput(f"allowCommercialUse: unknown {', '.join(unknown)}; use None, {', '.join(COMMERCIAL_USES)}")
    condition = None
    for use in uses:
        part = AiModel.allow_commercial_use == "" if use == "None" else (
            holds_text(Value(",").concat(AiModel.allow_commercial_use).concat(","), f",{use},"))
        condition = part if condition is None else condition | part
    return condition


def _boolean_conditions(f: ModelFilters) -> list:
    conditions = []
    for field, wanted in ((AiModel.allow_no_credit, f.allow_no_credit), (AiModel.allow_derivatives,
                          f.allow_derivatives), (AiModel.allow_different_license, f.allow_different_license)):
        if wanted is not None:
            conditions.append(field == wanted)
    if f.supports_generation is not None:
        kinds = AiModel.type.in_(GENERATION_KINDS)
        conditions.append(kinds if f.supports_generation else ~kinds)
    return conditions


def _identity_conditions(actor: UserInfo | None, f: ModelFilters) -> list:
    conditions = []
    if f.ids:
        conditions.append(AiModel.id.in_(list(f.ids)))
    if f.version_ids:
        conditions.append(AiModel.id.in_(ModelVersion.select(ModelVersion.model)
                                         .where(ModelVersion.id.in_(list(f.version_ids)))))
    if f.favorites:
        if actor is None:
            raise NotAuthenticated("favorites: log in to list the models you like")
        conditions.append(AiModel.id.in_(ModelLike.select(ModelLike.model).where(ModelLike.user == actor.id)))
    return conditions


def _content_conditions(f: ModelFilters) -> list:
    conditions = []
    if f.tags:
        names = [tag.lower() for tag in f.tags]
        conditions.append(AiModel.id.in_(ModelTag.select(ModelTag.model).join(Tag).where(Tag.name.in_(names))))
    if f.file_formats:
        files = ModelFile.select(ModelVersion.model).join(ModelVersion).where(
            ModelFile.format.in_(_stored_formats(f.file_formats)))
        conditions.append(AiModel.id.in_(files))
    start = since(f.period)
    if start is not None:
        conditions.append(AiModel.created_at >= start)
    if f.min_rating is not None and f.min_rating > 0:  # the rating: 5 × the share of reviews recommending it
        reviews = AiModel.thumbs_up_count + AiModel.thumbs_down_count
        conditions.append((reviews > 0) & (AiModel.thumbs_up_count * 5 >= reviews * f.min_rating))
    if f.nsfw is False:
        conditions.append(AiModel.rating == "safe")
    commercial = _commercial_condition(f.allow_commercial_use)
    if commercial is not None:
        conditions.append(commercial)
    return conditions


def narrowed(query, actor: UserInfo | None, f: ModelFilters):
    """``query`` over ``AiModel`` with every filter of ``f`` applied."""
    for condition in _identity_conditions(actor, f) + _content_conditions(f) + _boolean_conditions(f):
        query = query.where(condition)
    return query


def named_filters(query, actor: UserInfo | None, *, mine: bool, types: tuple[str, ...], base_models: tuple[str, ...],
                  tag: str, username: str, text: str):
    """The listing's older filters: the actor's own, types, base models, one tag, an owner, a text search."""
    if mine:
        query = query.where(AiModel.owner == (actor.id if actor else -1))
    if types:
        query = query.where(AiModel.type.in_([t.lower() for t in types]))
    if base_models:
        query = query.where(AiModel.base_model.in_(matching_names(base_models)))
    if tag:
        query = query.where(AiModel.id.in_(ModelTag.select(ModelTag.model).join(Tag).where(Tag.name == tag.lower())))
    if username:
        query = query.join(User, on=(AiModel.owner == User.id)).where(User.username_key == username_key(username))
    if text.strip():
        query = query.where(AiModel.id.in_(matching_ids(MODELS, text)))
    return query


def image_count():
    """Published images made with each model, for the "Most Images" sort."""
    published = Image.select(fn.COUNT(Image.id)).where(Image.model == AiModel.id, Image.published == True)  # noqa: E712
    return fn.COALESCE(published, 0)
