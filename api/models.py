"""``/api/v1/models``, ``/api/v1/model-versions``, ``/api/v1/files``: thin routes over core.library.library."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import AliasChoices, BaseModel, Field, RootModel, StringConstraints

from core.accounts.accounts import UserInfo
from core.errors import InvalidInput, NotFound
from core.library import library, library_edit
from core.library.library_edit import ModelFields, split_list

from .cached import cached_json
from .deps import current_user, get_context, require_user, viewer
from .listing_params import ModelListParams
from .model_shapes import file_hashes, models_json, one_model_json, one_version_json, version_mini_json
from .multipart_upload import read_model_upload
from .safe_paths import resolve_inside
from .shapes import TYPE_FROM_CIVITAI, PathId, QueryId, base_url, page_json

router = APIRouter(prefix="/api/v1", tags=["models"])
ListParam = Annotated[list[str] | None, Query()]
CommercialUse = Annotated[str, StringConstraints(max_length=32)]


class ModelPatch(BaseModel):
    """What ``PATCH /models/{id}`` changes (a field left out keeps its value); the licence in Civitai's names."""

    name: str | None = Field(None, max_length=200)
    type: str | None = None
    base_model: str | None = Field(None, validation_alias=AliasChoices("baseModel", "base_model"))
    description: str | None = Field(None, max_length=50_000)
    tags: list[str] | str | None = None
    trigger_words: list[str] | str | None = None
    visibility: str | None = None
    allowNoCredit: bool | None = None
    allowCommercialUse: Annotated[list[CommercialUse], Field(max_length=8)] | CommercialUse | None = None
    allowDerivatives: bool | None = None
    allowDifferentLicense: bool | None = None
    rating: str | None = None  # safe, mature or explicit


def _flag(values: dict, name: str) -> bool | None:
    """A licence flag from JSON (a bool) or an upload form ("true"/"false"; empty: not given)."""
    value = values.get(name)
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "1", "yes", "on"):
        return True
    if word in ("false", "0", "no", "off"):
        return False
    if word:
        raise InvalidInput(f"{name} must be true or false")
    return None


def _fields(values: dict) -> ModelFields:
    kind = values.get("type")
    return ModelFields(
        name=values.get("name") or None,
        type=TYPE_FROM_CIVITAI.get(kind.lower(), kind.lower()) if kind else None,
        base_model=values.get("base_model") or None, description=values.get("description"),
        tags=split_list(values.get("tags")), trigger_words=split_list(values.get("trigger_words")),
        visibility=values.get("visibility") or None, rating=values.get("rating") or None,
        allow_commercial_use=split_list(values.get("allowCommercialUse")),
        **{field: _flag(values, name) for field, name in library_edit.LICENCE_FLAGS.items()})


@router.get("/models")
async def list_models(request: Request, params: Annotated[ModelListParams, Query()],
                      user: UserInfo | None = Depends(viewer)) -> dict:
    q = params.model_query()

    def build() -> dict:
        result = library.list_models(user, q)
        return page_json(request, result, models_json(request, user, list(result.items), params.primaryFileOnly))

    return await cached_json(request, user, build)


@router.post("/models", status_code=201)
async def upload_model(request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    form, staged = await read_model_upload(request, context.config.models_path, context.config.max_upload_bytes)
    try:
        fields = _fields(form)
    except InvalidInput:
        staged.path.unlink(missing_ok=True)
        raise
    from anyio import to_thread

    record = await to_thread.run_sync(lambda: library_edit.create_model(
        context.store, context.config.models_path, user, staged, fields,
        allow_pickle=context.config.allow_pickle_import))
    return one_model_json(request, user, record)


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
    return one_model_json(request, user, record)


@router.get("/models/{model_id}")
async def get_model(model_id: PathId, request: Request, user: UserInfo | None = Depends(viewer)) -> dict:
    return await cached_json(request, user, lambda: one_model_json(request, user, library.get_model(user, model_id)))


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
    return one_model_json(request, user, record)


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
    return one_model_json(request, user, record)


@router.get("/model-versions/by-hash/{file_hash}")
def version_by_hash(file_hash: str, request: Request, user: UserInfo | None = Depends(current_user)) -> dict:
    model, version = library.find_version_by_hash(user, file_hash)
    return one_version_json(request, user, model, version)


class HashList(RootModel[list[str]]):
    """``POST /model-versions/by-hash``: hashes of any kind ``GET /model-versions/by-hash/{hash}`` takes."""

    root: list[str] = Field(max_length=100)


@router.post("/model-versions/by-hash")
def versions_by_hashes(body: HashList, request: Request, user: UserInfo | None = Depends(current_user)) -> list:
    """The versions holding files with these hashes (hashes of no file the caller may see are left out)."""
    found = []
    for file_hash in dict.fromkeys(body.root):
        try:
            model, version = library.find_version_by_hash(user, file_hash)
        except NotFound:
            continue
        found.append(one_version_json(request, user, model, version))
    return found


@router.get("/tags")
def list_tags(request: Request, query: str = Query("", max_length=64), page: int = Query(1, ge=1, le=100_000),
              limit: int = Query(20, ge=0, le=200), user: UserInfo | None = Depends(current_user)) -> dict:
    result = library.list_tags(user, query, page, limit)
    return page_json(request, result, [
        {"name": name, "modelCount": count, "link": f"{base_url(request)}/api/v1/models?{urlencode({'tag': name})}"}
        for name, count in result.items])


@router.get("/model-versions/mini/{version_id}")
def get_version_mini(version_id: PathId, request: Request, modelFileId: QueryId = None,
                     epoch: float | None = Query(None, description="training epochs: none are kept here, so ignored"),
                     user: UserInfo | None = Depends(current_user)) -> dict:
    """Civitai's short record of a version (AIR, file name, size, hashes, download URL), for generators: the
    version's primary file, or the file ``modelFileId`` of it. Who may see it is as ``/model-versions/{id}``."""
    model, version = library.get_version(user, version_id)
    return version_mini_json(request, model, version, modelFileId)


@router.get("/model-versions/{version_id}")
def get_version(version_id: PathId, request: Request, user: UserInfo | None = Depends(current_user)) -> dict:
    model, version = library.get_version(user, version_id)
    return one_version_json(request, user, model, version)


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
         "hashes": file_hashes(f),
         "downloadUrl": f"{str(request.base_url).rstrip('/')}/api/download/models/{f.version_id}?fileId={f.id}"}
        for model_id, f in result.items])


@router.delete("/files/{file_id}")
def delete_file(file_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    library_edit.delete_file(context.store, context.config.models_path, user, file_id)
    return {"deleted": True, "id": file_id}
