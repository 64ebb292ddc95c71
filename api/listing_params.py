"""The query parameters of Civitai's listings, as pydantic models: every parameter Civitai documents either
narrows the listing or is refused with a 400 naming it, and an unknown one is refused too (``extra="forbid"``)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from community.gallery import ImageQuery
from core.events import PERIODS
from core.library.base_models import BASE_MODELS, stored_name
from core.library.library import ModelQuery
from core.library.model_filters import ModelFilters

from .shapes import DB_INT, id_list, list_param, model_types

DEFAULT_MODELS_PAGE = 100  # Civitai's: limit=0 or none gives this many
MediaType = Literal["image", "video"]  # Civitai's ``type`` of an image
MEDIA_TYPES = get_args(MediaType)
Period = Literal[tuple(PERIODS)]  # Civitai's periods, as core.events names them


class ListingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=100_000)
    cursor: str | None = None
    query: str = Field("", max_length=500)
    username: str = Field("", max_length=100)
    period: Period = "AllTime"
    baseModels: list[str] = []
    tags: list[str] = []

    @field_validator("baseModels")
    @classmethod
    def _known_base_models(cls, value: list[str]):
        unknown = [name for name in list_param(value) if stored_name(name) is None]
        if unknown:
            raise ValueError(f"unknown base model {unknown[0]!r}: one of {', '.join(BASE_MODELS)}")
        return value


class ModelListParams(ListingParams):
    """``GET /api/v1/models``."""

    limit: int = Field(DEFAULT_MODELS_PAGE, ge=0, le=100)
    types: list[str] = []
    tag: str = Field("", max_length=64)
    sort: str = "Newest"
    rating: float | None = Field(None, ge=0, le=5)
    favorites: bool = False
    hidden: bool = False
    primaryFileOnly: bool = False
    allowNoCredit: bool | None = None
    allowDerivatives: bool | None = None
    allowDifferentLicense: bool | None = None
    allowDifferentLicenses: bool | None = None  # the spelling of Civitai's REST reference
    allowCommercialUse: list[str] = []
    nsfw: bool | None = None
    supportsGeneration: bool | None = None
    ids: list[str] = []
    modelVersionIds: list[str] = []
    fileFormats: list[str] = []

    @field_validator("hidden")
    @classmethod
    def _no_hidden_models(cls, value: bool):
        if value:
            raise ValueError("hiding models is not supported here, so there are no hidden models to list")
        return value

    def model_query(self) -> ModelQuery:
        different = self.allowDifferentLicense if self.allowDifferentLicense is not None else self.allowDifferentLicenses
        filters = ModelFilters(
            ids=id_list("ids", self.ids), version_ids=id_list("modelVersionIds", self.modelVersionIds),
            tags=list_param(self.tags), file_formats=list_param(self.fileFormats), period=self.period,
            min_rating=self.rating, nsfw=self.nsfw, favorites=self.favorites,
            supports_generation=self.supportsGeneration, allow_no_credit=self.allowNoCredit,
            allow_derivatives=self.allowDerivatives, allow_different_license=different,
            allow_commercial_use=list_param(self.allowCommercialUse))
        return ModelQuery(query=self.query, types=model_types(self.types), base_models=list_param(self.baseModels),
                          tag=self.tag, username=self.username, sort=self.sort, page=self.page,
                          limit=self.limit or DEFAULT_MODELS_PAGE, cursor=self.cursor, filters=filters)


# Civitai's ``nsfw`` filter of images: at most this rating (absent or "true"/"X": whatever the viewer's setting shows).
NSFW_LEVELS = {"false": "safe", "None": "safe", "Soft": "mature", "Mature": "mature"}


class ImageListParams(ListingParams):
    """``GET /api/v1/images``."""

    limit: int = Field(20, ge=0, le=200)
    sort: str = "Newest"
    modelId: int | None = Field(None, **DB_INT)
    modelVersionId: int | None = Field(None, **DB_INT)
    postId: int | None = Field(None, **DB_INT)
    imageId: int | None = Field(None, **DB_INT)
    nsfw: Literal["true", "false", "None", "Soft", "Mature", "X"] | None = None
    withMeta: bool | None = None
    type: MediaType | None = None
    mine: bool = False

    def image_query(self) -> ImageQuery:
        return ImageQuery(model_id=self.modelId, model_version_id=self.modelVersionId, username=self.username,
                          query=self.query, sort=self.sort, page=self.page, limit=self.limit or 20,
                          cursor=self.cursor, mine=self.mine, post_id=self.postId, image_id=self.imageId,
                          with_meta=self.withMeta, base_models=list_param(self.baseModels), period=self.period,
                          videos_only=self.type == "video", max_rating=NSFW_LEVELS.get(self.nsfw))

    @field_validator("tags")
    @classmethod
    def _no_image_tags(cls, value: list[str]):
        if value:
            raise ValueError("images are not tagged here; filter by query, modelId or username")
        return value
