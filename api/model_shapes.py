"""Civitai-shaped JSON for models, versions and files (so Civitai clients can read an instance)."""

from __future__ import annotations

from typing import Mapping, Sequence
from urllib.parse import quote

from fastapi import Request

from community.gallery import ImageRecord, version_images
from community.reviews import Summary
from core.accounts.accounts import UserInfo
from core.errors import NotFound
from core.library.base_models import family_of
from core.library.model_filters import FILE_FORMATS, GENERATION_KINDS
from core.library.model_records import FileRecord, ModelRecord, VersionRecord

from .image_shapes import BROWSING_LEVELS, PG, version_image_json
from .shapes import CIVITAI_TYPES, base_url

# AIR (https://github.com/civitai/civitai/wiki/AIR-%E2%80%90-Uniform-Resource-Names-for-AI): ecosystem and type.
AIR_TYPES = {"checkpoint": "checkpoint", "lora": "lora", "embedding": "embedding", "vae": "vae", "upscaler": "upscaler",
             "other": "other"}
ImagesByVersion = Mapping[int, Sequence[ImageRecord]]
# Civitai's names for what every model, version and file here is (``GET /api/v1/enums`` lists them).
AVAILABILITY = {"public": "Public", "private": "Private", "hidden": "Private"}  # visibility -> Civitai's Availability
FILE_TYPE = "Model"  # Civitai's ModelFileType: every file here is the model itself
BASE_MODEL_TYPE = "Standard"  # Civitai's BaseModelType: no inpainting or refiner variants are told apart
VERSION_STATUS = "Published"  # Civitai's ModelStatus: a version is published when it is stored
# The stored format of a file -> Civitai's name for it (model_filters.FILE_FORMATS the other way round).
FORMAT_NAMES = {stored: name for name, formats in FILE_FORMATS.items() for stored in formats}


def cover_url(request: Request, model: ModelRecord) -> str | None:
    """The newest image published with the model, else the preview that came with its file."""
    if model.cover_image:
        return f"{base_url(request)}/media/{quote(model.cover_image)}"
    if model.preview_path:
        return f"{base_url(request)}/api/v1/models/{model.id}/preview"
    return None


def sample_images(viewer: UserInfo | None, models: Sequence[ModelRecord]) -> ImagesByVersion:
    """The newest published images of each version of ``models`` (one query), for ``model_json``."""
    return version_images(viewer, [version.id for model in models for version in model.versions])


def file_hashes(record: FileRecord) -> dict[str, str]:
    """Every hash kind Civitai names that the file has, upper-case (AutoV3 needs a safetensors header; a file
    stored before a kind was computed lacks it until the next models-folder scan)."""
    return {name: value.upper() for name, value in (
        ("AutoV1", record.autov1), ("AutoV2", record.autov2), ("AutoV3", record.autov3),
        ("SHA256", record.sha256), ("CRC32", record.crc32), ("BLAKE3", record.blake3)) if value}


def format_name(record: FileRecord) -> str:
    return FORMAT_NAMES.get(record.format, "Other")


def download_url(request: Request, version_id: int, file_id: int | None = None) -> str:
    """The version's primary file, or the file ``file_id`` of it."""
    url = f"{base_url(request)}/api/download/models/{version_id}"
    return url if file_id is None else f"{url}?fileId={file_id}"


def file_json(request: Request, version_id: int, record: FileRecord) -> dict:
    return {
        "id": record.id, "name": record.original_name, "sizeKB": record.size / 1024, "type": FILE_TYPE,
        "primary": record.is_primary,
        "metadata": {"format": format_name(record), "size": None, "fp": None},
        "hashes": file_hashes(record),
        "scannerResult": record.scan_result, "pickleScanResult": "Success",
        "pickleScanMessage": "No Pickle imports: safetensors files hold no code",
        "virusScanResult": "Success", "virusScanMessage": None, "scannedAt": record.created_at,
        "downloadUrl": download_url(request, version_id, record.id),
        "trainingMetadata": record.metadata, "createdAt": record.created_at,
    }


def air(model: ModelRecord, version: VersionRecord) -> str:
    ecosystem = family_of(version.base_model)  # the family names are AIR's ecosystems
    return f"urn:air:{ecosystem}:{AIR_TYPES[model.type]}:civitai:{model.id}@{version.id}"


def _preview_image(request: Request, model: ModelRecord) -> list[dict]:
    """A local model's A1111 preview picture, when no image made with it is published."""
    url = cover_url(request, model)
    return [{"url": url, "nsfwLevel": PG, "width": 0, "height": 0, "hash": None, "type": "image",
             "hasMeta": False, "onSite": False, "meta": None}] if url else []


def version_json(request: Request, model: ModelRecord, version: VersionRecord, images: ImagesByVersion,
                 primary_file_only: bool = False) -> dict:
    files = [f for f in version.files if f.is_primary or not primary_file_only]
    samples = [version_image_json(request, image) for image in images.get(version.id, ())]
    return {
        "id": version.id, "modelId": model.id, "name": version.name, "createdAt": version.created_at,
        "updatedAt": version.created_at, "publishedAt": version.created_at, "status": VERSION_STATUS,
        "availability": AVAILABILITY[model.visibility], "description": None,
        "nsfwLevel": BROWSING_LEVELS[model.rating], "baseModel": version.base_model, "baseModelType": BASE_MODEL_TYPE, "air": air(model, version),
        "uploadType": "Created", "supportsGeneration": model.type in GENERATION_KINDS,
        "trainedWords": list(model.trigger_words), "defaultWeight": version.default_weight,
        "downloadUrl": download_url(request, version.id),
        "stats": {"downloadCount": version.download_count,
                  **Summary(version.thumbs_up, version.thumbs_down).as_dict()},
        "files": [file_json(request, version.id, f) for f in files],
        "model": {"name": model.name, "type": CIVITAI_TYPES[model.type], "nsfw": model.rating != "safe",
                  "poi": False},
        "images": samples or _preview_image(request, model),
    }


def model_json(request: Request, model: ModelRecord, images: ImagesByVersion, primary_file_only: bool = False) -> dict:
    licence = model.licence
    return {
        "id": model.id, "name": model.name, "description": model.description, "type": CIVITAI_TYPES[model.type],
        "allowNoCredit": licence.allow_no_credit, "allowCommercialUse": list(licence.allow_commercial_use),
        "allowDerivatives": licence.allow_derivatives, "allowDifferentLicense": licence.allow_different_license,
        "poi": False, "minor": False, "nsfw": model.rating != "safe", "nsfwLevel": BROWSING_LEVELS[model.rating],
        "rating": model.rating,
        "availability": AVAILABILITY[model.visibility], "mode": None,
        "supportsGeneration": model.type in GENERATION_KINDS,
        "baseModel": model.base_model, "tags": list(model.tags),
        "trainedWords": list(model.trigger_words), "visibility": model.visibility, "source": model.source,
        "isDemo": model.is_demo, "createdAt": model.created_at, "updatedAt": model.updated_at,
        "creator": {"username": model.owner, "image": None},
        "stats": {"downloadCount": model.download_count, "favoriteCount": model.like_count,
                  "commentCount": model.comment_count, "tippedAmountCount": 0,
                  **Summary(model.thumbs_up, model.thumbs_down).as_dict()},
        "coverImage": cover_url(request, model),
        "modelVersions": [version_json(request, model, v, images, primary_file_only) for v in model.versions],
    }


def models_json(request: Request, viewer: UserInfo | None, models: Sequence[ModelRecord],
                primary_file_only: bool = False) -> list[dict]:
    """``model_json`` of each model, their sample images read in one query."""
    images = sample_images(viewer, models)
    return [model_json(request, model, images, primary_file_only) for model in models]


def one_model_json(request: Request, viewer: UserInfo | None, model: ModelRecord) -> dict:
    return models_json(request, viewer, [model])[0]


def one_version_json(request: Request, viewer: UserInfo | None, model: ModelRecord, version: VersionRecord) -> dict:
    return version_json(request, model, version, version_images(viewer, [version.id]))


def version_mini_json(request: Request, model: ModelRecord, version: VersionRecord, file_id: int | None = None) -> dict:
    """``GET /model-versions/mini/{id}``: Civitai's short record of a version for generators and downloaders,
    describing its primary file, or the file ``file_id`` of it (then the AIR ends in ``+<file id>``)."""
    if file_id is None:
        target = next((f for f in version.files if f.is_primary), version.files[0] if version.files else None)
    else:
        target = next((f for f in version.files if f.id == file_id), None)
    if target is None:
        raise NotFound(f"the model version {version.id} has no file with id {file_id}" if file_id is not None
                       else f"the model version {version.id} has no file")
    restricted = model.visibility != "public"
    return {
        "air": air(model, version) + (f"+{file_id}" if file_id is not None else ""),
        "versionName": version.name, "modelName": model.name, "userId": model.owner_id,
        "baseModel": version.base_model, "availability": AVAILABILITY[model.visibility],
        "publishedAt": version.created_at, "size": target.size / 1024, "fileType": FILE_TYPE,
        "fileName": target.original_name, "hashes": file_hashes(target),
        "downloadUrls": [download_url(request, version.id, file_id)], "format": format_name(target),
        "canGenerate": model.type in GENERATION_KINDS, "isFeatured": False, "requireAuth": restricted,
        "checkPermission": restricted, "earlyAccessEndsAt": None, "freeTrialLimit": None,
        "additionalResourceCharge": False, "minor": False, "sfwOnly": False, "fees": [], "payoutEnabled": False,
        # Beside Civitai's fields: the ids, and the version record's names for the same things.
        "id": version.id, "name": version.name, "modelId": model.id, "fileId": target.id,
        "type": CIVITAI_TYPES[model.type], "baseModelType": BASE_MODEL_TYPE, "status": VERSION_STATUS,
        "nsfwLevel": BROWSING_LEVELS[model.rating], "trainedWords": list(model.trigger_words),
        "downloadUrl": download_url(request, version.id, file_id),
        "model": {"name": model.name, "type": CIVITAI_TYPES[model.type], "nsfw": model.rating != "safe", "poi": False},
    }
