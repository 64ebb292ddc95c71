"""``GET /api/v1/enums``: Civitai's lists of the values its API takes and answers (``ModelType``, ``BaseModel``,
``ModelSort``...), each built from the constant that the routes here check or answer with, so a list never names
a value they refuse (tests/test_enums.py tries every value on its filter)."""

from __future__ import annotations

from fastapi import APIRouter

from community.gallery import SORT_ALIASES as IMAGE_SORTS
from core.events import PERIODS
from core.library.base_models import BASE_MODELS
from core.library.library import SORT_ALIASES as MODEL_SORTS
from core.library.model_filters import FILE_FORMATS
from core.library.model_records import COMMERCIAL_USES
from core.tables import MODEL_TYPES, VISIBILITIES

from .listing_params import MEDIA_TYPES
from .model_shapes import AVAILABILITY, BASE_MODEL_TYPE, FILE_TYPE, VERSION_STATUS
from .shapes import CIVITAI_TYPES

router = APIRouter(prefix="/api/v1", tags=["models"])


def enums() -> dict[str, list[str]]:
    return {
        "ModelType": [CIVITAI_TYPES[kind] for kind in MODEL_TYPES],  # /models?types=
        "ModelFileType": [FILE_TYPE],
        "BaseModel": list(BASE_MODELS),  # /models and /images ?baseModels=
        "BaseModelType": [BASE_MODEL_TYPE],
        "ModelStatus": [VERSION_STATUS],
        "Availability": [AVAILABILITY[visibility] for visibility in VISIBILITIES],
        "CommercialUse": ["None", *COMMERCIAL_USES],  # /models?allowCommercialUse=
        "ModelFileFormat": list(FILE_FORMATS),  # /models?fileFormats=
        "ModelSort": list(MODEL_SORTS),  # /models?sort=
        "ImageSort": list(IMAGE_SORTS),  # /images?sort=
        "Period": list(PERIODS),  # /models and /images ?period=
        "MediaType": list(MEDIA_TYPES),  # /images?type=
    }


@router.get("/enums")
def list_enums() -> dict[str, list[str]]:
    """Civitai's enums: each name and the values this site takes and answers for it."""
    return enums()
