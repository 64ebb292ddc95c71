"""``/api/v1/images`` (Civitai-shaped gallery) and ``/media/{path}`` (image files): thin routes over community.gallery."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from community import gallery
from community.accounts import UserInfo
from community.gallery import ImageQuery, ImageRecord
from community.image_upload import MAX_IMAGE_BYTES
from core.errors import InvalidInput, NotFound, TooLarge

from .deps import current_user, get_context, require_user
from .safe_paths import resolve_inside
from .shapes import PathId, QueryId, base_url, fits_db_int, page_json

router = APIRouter(tags=["gallery"])
FORM_SLACK = 64 * 1024
META_NAMES = {"Prompt": "prompt", "Negative prompt": "negativePrompt", "Seed": "seed", "Steps": "steps",
              "Sampler": "sampler", "CFG scale": "cfgScale"}
META_TYPES = {"seed": int, "steps": int, "cfgScale": float}


def _typed(name: str, value):
    try:
        return META_TYPES[name](value) if name in META_TYPES else value
    except (TypeError, ValueError):
        return value


def civitai_meta(image: ImageRecord) -> dict | None:
    """The parsed A1111 parameters under Civitai's names (``prompt``, ``cfgScale``, ``Size``, ``Model hash`` ...)."""
    meta = image.meta
    if not meta and not image.prompt:
        return None
    out = {"prompt": image.prompt, "negativePrompt": image.negative_prompt}
    for key, value in meta.items():
        if key == "Lora hashes dict" or key.endswith("-2"):
            continue
        if key.endswith("-1") and f"{key[:-2]}-2" in meta:
            out[key[:-2]] = f"{value}x{meta[key[:-2] + '-2']}"
        else:
            out[META_NAMES.get(key, key)] = _typed(META_NAMES.get(key, key), value)
    return out


def image_json(request: Request, image: ImageRecord) -> dict:
    return {
        "id": image.id, "url": f"{base_url(request)}/media/{image.path}", "hash": None,
        "width": image.width, "height": image.height, "nsfw": False, "nsfwLevel": "None",
        "createdAt": image.published_at or image.created_at, "published": image.published, "postId": None,
        "username": image.username, "modelId": image.model_id, "modelVersionId": image.model_version_id,
        "modelVersionIds": [image.model_version_id] if image.model_version_id else [],
        "stats": {"likeCount": image.like_count, "heartCount": 0, "laughCount": 0, "cryCount": 0,
                  "dislikeCount": 0, "commentCount": 0},
        "meta": civitai_meta(image),
    }


@router.get("/api/v1/images")
def list_images(request: Request, modelId: QueryId = None, modelVersionId: QueryId = None, username: str = "",
                query: str = Query("", max_length=500), sort: str = "newest", mine: bool = False,
                page: int = Query(1, ge=1, le=100_000), limit: int = Query(20, ge=1, le=200),
                cursor: str | None = None, user: UserInfo | None = Depends(current_user)) -> dict:
    q = ImageQuery(model_id=modelId, model_version_id=modelVersionId, username=username, query=query, sort=sort,
                   page=page, limit=limit, cursor=cursor, mine=mine)
    result = gallery.list_images(user, q)
    return page_json(request, result, [image_json(request, image) for image in result.items])


@router.get("/api/v1/images/{image_id}")
def get_image(image_id: PathId, request: Request, user: UserInfo | None = Depends(current_user)) -> dict:
    return image_json(request, gallery.get_image(user, image_id))


async def _json_image_id(request: Request) -> int:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInput("send JSON {\"image_id\": <id>} to publish, or a multipart 'file' to upload") from None
    image_id = body.get("image_id") if isinstance(body, dict) else None
    if isinstance(image_id, bool) or not isinstance(image_id, int) or not fits_db_int(image_id):
        raise InvalidInput("image_id must be the id of one of your images")
    return image_id


async def _limited(request: Request):
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_IMAGE_BYTES + FORM_SLACK:
            raise TooLarge(f"images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
        yield chunk


async def _uploaded_bytes(request: Request) -> bytes:
    """The bytes of the form field ``file``, reading at most the image size limit."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_IMAGE_BYTES + FORM_SLACK:
        raise TooLarge(f"images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    try:
        form = await MultiPartParser(request.headers, _limited(request), max_files=1, max_fields=20).parse()
    except MultiPartException as exc:
        raise InvalidInput(f"unreadable upload: {exc.message}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("put the image in the form field named 'file'")
        return await upload.read()
    finally:
        await form.close()


@router.post("/api/v1/images", status_code=201)
async def post_image(request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """JSON ``{image_id}`` publishes one's generated image; multipart ``file`` uploads a PNG/JPEG/WebP."""
    from anyio import to_thread

    context = get_context(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        image_id = await _json_image_id(request)
        record = await to_thread.run_sync(gallery.publish_image, context.store, user, image_id)
    elif kind == "multipart/form-data":
        data = await _uploaded_bytes(request)
        record = await to_thread.run_sync(gallery.upload_image, context.store, context.config.outputs_path, user, data)
    else:
        raise InvalidInput("send JSON {\"image_id\": <id>} to publish, or multipart/form-data with a 'file' to upload")
    return image_json(request, record)


@router.delete("/api/v1/images/{image_id}")
def delete_image(image_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    context = get_context(request)
    gallery.delete_image(context.store, context.config.outputs_path, user, image_id)
    return {"deleted": True, "id": image_id}


@router.get("/media/{path:path}", include_in_schema=False)
def media_route(path: str, request: Request, user: UserInfo | None = Depends(current_user)):
    """An image file from outputs/: published ones to anyone, private ones to their owner and admins."""
    media = gallery.media_file(user, path)
    file = resolve_inside(get_context(request).config.outputs_path, media.path)
    if file is None or not file.is_file():
        raise NotFound("no such image")
    return FileResponse(file, media_type="image/png", headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache" if media.public else "private, no-store"})
