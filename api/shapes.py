"""Civitai-shaped JSON for models, versions and files (so Civitai clients can read an instance)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Path, Query, Request

from core.library import FileRecord, ModelRecord, Page, VersionRecord

CIVITAI_TYPES = {"checkpoint": "Checkpoint", "lora": "LORA", "embedding": "TextualInversion", "vae": "VAE",
                 "other": "Other"}
TYPE_FROM_CIVITAI = {v.lower(): k for k, v in CIVITAI_TYPES.items()} | {k: k for k in CIVITAI_TYPES}

# Database ids are SQLite's 64-bit integers: a larger number in a request is a 400, not an overflow in the driver.
DB_INT = {"ge": -(2**63), "le": 2**63 - 1}
PathId = Annotated[int, Path(**DB_INT)]
QueryId = Annotated[int | None, Query(**DB_INT)]


def fits_db_int(value: int) -> bool:
    return DB_INT["ge"] <= value <= DB_INT["le"]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def list_param(values: list[str] | None) -> tuple[str, ...]:
    """Civitai list parameters come comma-joined or repeated; accept both."""
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


def model_types(values: list[str] | None) -> tuple[str, ...]:
    return tuple(TYPE_FROM_CIVITAI.get(v.lower(), v.lower()) for v in list_param(values))


def cover_url(request: Request, model: ModelRecord) -> str | None:
    """The newest image published with the model, else the preview that came with its file."""
    if model.cover_image:
        return f"{base_url(request)}/media/{quote(model.cover_image)}"
    if model.preview_path:
        return f"{base_url(request)}/api/v1/models/{model.id}/preview"
    return None


def file_json(request: Request, version_id: int, record: FileRecord) -> dict:
    return {
        "id": record.id, "name": record.original_name, "sizeKB": record.size / 1024, "type": "Model",
        "primary": record.is_primary,
        "metadata": {"format": "SafeTensor" if record.format == "safetensors" else "Diffusers",
                     "size": None, "fp": None},
        "hashes": {"SHA256": record.sha256.upper(), "AutoV2": record.autov2.upper()},
        "scannerResult": record.scan_result, "pickleScanResult": "Success",
        "downloadUrl": f"{base_url(request)}/api/download/models/{version_id}?fileId={record.id}",
        "trainingMetadata": record.metadata, "createdAt": record.created_at,
    }


def version_json(request: Request, model: ModelRecord, version: VersionRecord) -> dict:
    return {
        "id": version.id, "modelId": model.id, "name": version.name, "createdAt": version.created_at,
        "baseModel": version.base_model, "trainedWords": list(model.trigger_words),
        "defaultWeight": version.default_weight,
        "downloadUrl": f"{base_url(request)}/api/download/models/{version.id}",
        "stats": {"downloadCount": version.download_count},
        "files": [file_json(request, version.id, f) for f in version.files],
        "model": {"name": model.name, "type": CIVITAI_TYPES[model.type], "nsfw": False},
        "images": [{"url": cover}] if (cover := cover_url(request, model)) else [],
    }


def model_json(request: Request, model: ModelRecord) -> dict:
    return {
        "id": model.id, "name": model.name, "description": model.description, "type": CIVITAI_TYPES[model.type],
        "baseModel": model.base_model, "nsfw": False, "tags": list(model.tags),
        "trainedWords": list(model.trigger_words), "visibility": model.visibility, "source": model.source,
        "isDemo": model.is_demo, "createdAt": model.created_at, "updatedAt": model.updated_at,
        "creator": {"username": model.owner, "image": None},
        "stats": {"downloadCount": model.download_count, "favoriteCount": model.like_count,
                  "thumbsUpCount": model.like_count, "commentCount": model.comment_count},
        "coverImage": cover_url(request, model),
        "modelVersions": [version_json(request, model, v) for v in model.versions],
    }


def page_json(request: Request, page: Page, items: list) -> dict:
    next_page = page.next_page
    metadata = {"totalItems": page.total, "currentPage": page.page, "pageSize": page.page_size,
                "totalPages": page.total_pages, "nextPage": None, "nextCursor": page.next_cursor}
    if next_page is not None:
        params = dict(request.query_params) | {"page": str(next_page)}
        params.pop("cursor", None)
        query = urlencode(params)
        metadata["nextPage"] = f"{base_url(request)}{request.url.path}?{query}"
    return {"items": items, "metadata": metadata}
