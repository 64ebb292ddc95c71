"""``/api/v1/images`` (Civitai-shaped gallery) and ``/media/{path}`` (image files): thin routes over community.gallery."""

from __future__ import annotations

from typing import Annotated, Callable

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from community import gallery, picture_posts
from community.image_upload import MAX_POST_BYTES, MAX_POST_IMAGES
from community.posts import PostFields
from core.accounts.accounts import UserInfo
from core.errors import InvalidInput, NotFound, TooLarge
from core.pictures import MAX_IMAGE_BYTES

from .deps import current_user, get_context, require_user
from .image_shapes import image_json
from .listing_params import ImageListParams
from .safe_paths import resolve_inside
from .shapes import PathId, fits_db_int, page_json

router = APIRouter(tags=["gallery"])
FORM_SLACK = 64 * 1024


@router.get("/api/v1/images")
def list_images(request: Request, params: Annotated[ImageListParams, Query()],
                user: UserInfo | None = Depends(current_user)) -> dict:
    result = gallery.list_images(user, params.image_query())
    return page_json(request, result, [image_json(request, image) for image in result.items])


@router.get("/api/v1/images/{image_id}")
def get_image(image_id: PathId, request: Request, user: UserInfo | None = Depends(current_user)) -> dict:
    return image_json(request, gallery.get_image(user, image_id))


MB = 1024 * 1024
TOO_BIG = f"images can be at most {MAX_IMAGE_BYTES // MB} MB"
POST_TOO_BIG = (f"a post's pictures can be at most {MAX_POST_BYTES // MB} MB together, each at most "
                f"{MAX_IMAGE_BYTES // MB} MB")
HOW = ("send JSON {\"image_id\": <id>} (or {\"image_ids\": [...]}, one post; optional \"title\", \"description\", "
       "\"tags\") to publish, or multipart/form-data with a 'file' (or several 'file' parts, one post) to upload")


def _image_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not fits_db_int(value):
        raise InvalidInput("image_id must be the id of one of your images")
    return value


def _text_field(body: dict, name: str) -> str:
    value = body.get(name, "")
    if value is None or isinstance(value, str):
        return value or ""
    raise InvalidInput(f"{name}: give text")


async def _json_publish(request: Request) -> tuple[list[int], bool, PostFields]:
    """The ids to publish, whether the client named several (``image_ids``: answered as a post), and the post's
    optional ``title``, ``description`` and ``tags`` (a list, or comma-separated)."""
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInput(HOW) from None
    if not isinstance(body, dict):
        raise InvalidInput(HOW)
    tags = body.get("tags") or ""
    if not isinstance(tags, (str, list)) or (isinstance(tags, list) and not all(isinstance(t, str) for t in tags)):
        raise InvalidInput("tags: a list of words, or one comma-separated text")
    post = PostFields.checked(_text_field(body, "title"), _text_field(body, "description"), tags)
    if "image_ids" in body:
        ids = body["image_ids"]
        if not isinstance(ids, list) or not ids or len(ids) > MAX_POST_IMAGES:
            raise InvalidInput(f"image_ids: a list of 1 to {MAX_POST_IMAGES} ids of your images")
        return list(dict.fromkeys(_image_id(value) for value in ids)), True, post
    return [_image_id(body.get("image_id"))], False, post


async def _limited(request: Request):
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_POST_BYTES + FORM_SLACK:
            raise TooLarge(POST_TOO_BIG)
        yield chunk


def _reader(upload: UploadFile) -> Callable[[], bytes]:
    def read() -> bytes:
        upload.file.seek(0)
        return upload.file.read(MAX_IMAGE_BYTES + 1)  # one byte more than allowed: decode_upload refuses it

    return read


async def _uploaded_pictures(request: Request):
    """The form and a reader of each ``file`` part (read in a worker thread when its turn comes): the body is
    counted as it arrives, at most MAX_POST_BYTES together, and every part's size is checked before any picture
    is stored."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_POST_BYTES + FORM_SLACK:
        raise TooLarge(POST_TOO_BIG)
    try:
        form = await MultiPartParser(request.headers, _limited(request), max_files=MAX_POST_IMAGES,
                                     max_fields=20).parse()
    except MultiPartException as exc:
        if exc.message.startswith("Too many files"):
            raise InvalidInput(f"a post holds at most {MAX_POST_IMAGES} pictures") from None
        raise InvalidInput(f"unreadable upload: {exc.message}") from None
    try:
        uploads = form.getlist("file")
        if not uploads or not all(isinstance(upload, UploadFile) for upload in uploads):
            raise InvalidInput("put the image in the form field named 'file' (several 'file' parts make one post)")
        several = len(uploads) > 1
        for number, upload in enumerate(uploads, 1):
            if upload.size is None or upload.size > MAX_IMAGE_BYTES:
                raise TooLarge(f"picture {number}: {TOO_BIG}; nothing was posted" if several else TOO_BIG)
    except BaseException:
        await form.close()
        raise
    return form, [_reader(upload) for upload in uploads], several


def _post_json(request: Request, records) -> dict:
    """Images published together: the post's id (the first image's; None if they were posted before apart) and
    the images, in order."""
    post_ids = {record.post_id for record in records}
    return {"postId": post_ids.pop() if len(post_ids) == 1 else None,
            "items": [image_json(request, record) for record in records]}


@router.post("/api/v1/images", status_code=201)
async def post_image(request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """JSON ``{image_id}`` publishes one's generated image (``{image_ids}``: several, as one post); multipart
    ``file`` uploads a PNG/JPEG/WebP (several ``file`` parts: one post, all or none). One image is answered as
    the image; several as ``{postId, items}``."""
    from anyio import to_thread

    context = get_context(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        image_ids, several, post = await _json_publish(request)
        records = await to_thread.run_sync(picture_posts.publish_images, context.store, user, image_ids, post)
    elif kind == "multipart/form-data":
        form, readers, several = await _uploaded_pictures(request)
        try:
            records = await to_thread.run_sync(picture_posts.upload_images, context.store, context.config.outputs_path,
                                               user, readers)
        finally:
            await form.close()
    else:
        raise InvalidInput(HOW)
    return _post_json(request, records) if several else image_json(request, records[0])


class ImagePatch(BaseModel):
    rating: str = Field(max_length=16)  # safe, mature or explicit


@router.patch("/api/v1/images/{image_id}")
def rate_image(image_id: PathId, body: ImagePatch, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    """Rate a picture (its owner, or a moderator)."""
    return image_json(request, gallery.set_image_rating(get_context(request).store, user, image_id, body.rating))


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
