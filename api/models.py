"""``/api/v1/models``, ``/api/v1/model-versions``, ``/api/v1/files``: thin routes over core.library."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from community.accounts import UserInfo
from core import library, library_edit
from core.errors import NotFound
from core.library_edit import ModelFields, split_list

from .cached import cached_json
from .deps import current_user, get_context, require_user, viewer
from .multipart_upload import read_model_upload
from .safe_paths import resolve_inside
from .shapes import TYPE_FROM_CIVITAI, PathId, list_param, model_json, model_types, page_json, version_json

router = APIRouter(prefix="/api/v1", tags=["models"])
ListParam = Annotated[list[str] | None, Query()]


class ModelPatch(BaseModel):
    name: str | None = Field(None, max_length=200)
    type: str | None = None
    base_model: str | None = None
    description: str | None = Field(None, max_length=50_000)
    tags: list[str] | str | None = None
    trigger_words: list[str] | str | None = None
    visibility: str | None = None


def _fields(values: dict) -> ModelFields:
    kind = values.get("type")
    return ModelFields(
        name=values.get("name") or None,
        type=TYPE_FROM_CIVITAI.get(kind.lower(), kind.lower()) if kind else None,
        base_model=values.get("base_model") or None, description=values.get("description"),
        tags=split_list(values.get("tags")), trigger_words=split_list(values.get("trigger_words")),
        visibility=values.get("visibility") or None)


@router.get("/models")
async def list_models(request: Request, query: str = "", types: ListParam = None, baseModels: ListParam = None,
                      tag: str = "", username: str = "", sort: str = "newest",
                      page: int = Query(1, ge=1, le=100_000), limit: int = Query(20, ge=1, le=100),
                      cursor: str | None = None, user: UserInfo | None = Depends(viewer)) -> dict:
    q = library.ModelQuery(query=query, types=model_types(types), base_models=list_param(baseModels), tag=tag,
                           username=username, sort=sort, page=page, limit=limit, cursor=cursor)

    def build() -> dict:
        result = library.list_models(user, q)
        return page_json(request, result, [model_json(request, m) for m in result.items])

    return await cached_json(request, user, build)


@router.post("/models", status_code=201)
async def upload_model(request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    fields, staged = await read_model_upload(request, context.config.models_path, context.config.max_upload_bytes)
    from anyio import to_thread

    record = await to_thread.run_sync(lambda: library_edit.create_model(
        context.store, context.config.models_path, user, staged, _fields(fields),
        allow_pickle=context.config.allow_pickle_import))
    return model_json(request, record)


class HubImport(BaseModel):
    repo_id: str = Field(max_length=200)
    filename: str | None = Field(None, max_length=500)
    revision: str | None = Field(None, max_length=200)
    name: str | None = Field(None, max_length=200)
    visibility: str | None = None


@router.post("/models/import", status_code=201)
def import_model(body: HubImport, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """Import a model file from the Hugging Face Hub (the server needs network and HF_HUB_OFFLINE=0)."""
    context = get_context(request)
    record = library_edit.import_from_hub(
        context.store, context.config.models_path, user, body.repo_id, body.filename, body.revision,
        ModelFields(name=body.name, visibility=body.visibility), max_bytes=context.config.max_upload_bytes)
    return model_json(request, record)


@router.get("/models/{model_id}")
async def get_model(model_id: PathId, request: Request, user: UserInfo | None = Depends(viewer)) -> dict:
    return await cached_json(request, user, lambda: model_json(request, library.get_model(user, model_id)))


@router.get("/models/{model_id}/preview", response_class=FileResponse)
def model_preview(model_id: PathId, request: Request, user: UserInfo | None = Depends(current_user)):
    """The preview picture that came with a model in an A1111 models folder."""
    record = library.get_model(user, model_id)
    path = resolve_inside(get_context(request).config.models_path, record.preview_path) if record.preview_path else None
    if path is None or not path.is_file():
        raise NotFound(f"the model {model_id} has no preview picture")
    return FileResponse(path, headers={"X-Content-Type-Options": "nosniff"})


@router.patch("/models/{model_id}")
def edit_model(model_id: PathId, body: ModelPatch, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    record = library_edit.update_model(get_context(request).store, user, model_id,
                                       _fields(body.model_dump(exclude_unset=True)))
    return model_json(request, record)


@router.delete("/models/{model_id}")
def delete_model(model_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    library_edit.delete_model(context.store, context.config.models_path, user, model_id)
    return {"deleted": True, "id": model_id}


@router.post("/models/{model_id}/versions", status_code=201)
async def upload_version(model_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    library.get_model_row(user, model_id)  # 404 before reading a large body for a model that is not there
    fields, staged = await read_model_upload(request, context.config.models_path, context.config.max_upload_bytes)
    from anyio import to_thread

    record = await to_thread.run_sync(lambda: library_edit.add_version(
        context.store, context.config.models_path, user, model_id, staged, fields.get("name") or "new version",
        allow_pickle=context.config.allow_pickle_import))
    return model_json(request, record)


@router.get("/model-versions/by-hash/{file_hash}")
def version_by_hash(file_hash: str, request: Request, user: UserInfo | None = Depends(current_user)) -> dict:
    model, version = library.find_version_by_hash(user, file_hash)
    return version_json(request, model, version)


@router.get("/model-versions/{version_id}")
def get_version(version_id: PathId, request: Request, user: UserInfo | None = Depends(current_user)) -> dict:
    model, version = library.get_version(user, version_id)
    return version_json(request, model, version)


@router.delete("/model-versions/{version_id}")
def delete_version(version_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    library_edit.delete_version(context.store, context.config.models_path, user, version_id)
    return {"deleted": True, "id": version_id}


@router.get("/files")
def search_files(request: Request, query: str = "", page: int = Query(1, ge=1, le=100_000),
                 limit: int = Query(20, ge=1, le=100), user: UserInfo | None = Depends(current_user)) -> dict:
    result = library.list_files(user, query, page, limit)
    return page_json(request, result, [
        {"id": f.id, "name": f.original_name, "sizeKB": f.size / 1024, "modelId": model_id, "modelVersionId": f.version_id,
         "hashes": {"SHA256": f.sha256.upper(), "AutoV2": f.autov2.upper()},
         "downloadUrl": f"{str(request.base_url).rstrip('/')}/api/download/models/{f.version_id}?fileId={f.id}"}
        for model_id, f in result.items])


@router.delete("/files/{file_id}")
def delete_file(file_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    library_edit.delete_file(context.store, context.config.models_path, user, file_id)
    return {"deleted": True, "id": file_id}
