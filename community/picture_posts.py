"""Putting pictures up: publishing some of one's generated images as one post, and uploading pictures (PNG,
JPEG, WebP with their A1111 parameters) as one post, linked to the model that made them by its hash.  Followers
are told (``core.notifications``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from community.gallery import ImageRecord, get_image, get_image_row, image_records
from community.image_upload import MAX_POST_IMAGES, DecodedImage, decode_upload
from community.posts import PostFields, create_post
from core import notifications
from core.accounts.accounts import UserInfo
from core.errors import Forbidden, InvalidInput, VisionaryError
from core.generation.outputs import remove_output, write_png
from core.generation.pnginfo import parse_parameters
from core.library.library import visible_to
from core.library.library_edit import require_login
from core.store import Store, utcnow
from core.tables import AiModel, Image, ModelFile, ModelVersion


def link_model(actor: UserInfo, model_hash: str) -> tuple[int | None, int | None]:
    """(model id, version id) of the file whose AutoV2 or SHA-256 starts with ``model_hash``, among the models
    the uploader may see (a private model is never linked to someone else's picture)."""
    value = (model_hash or "").strip().lower()
    if len(value) < 10 or len(value) > 64 or any(ch not in "0123456789abcdef" for ch in value):
        return None, None
    files = ModelFile.select(ModelFile.version).join(ModelVersion).join(AiModel).where(visible_to(actor))
    if len(value) == 10:
        row = files.where(ModelFile.autov2 == value).first()
    else:
        row = files.where(ModelFile.sha256 >= value, ModelFile.sha256 < value + "g").first()
    if row is None:
        return None, None
    version = ModelVersion.get_by_id(row.version_id)
    return version.model_id, version.id


def publish_images(store: Store, actor: UserInfo | None, image_ids: list[int],
                   post: PostFields = PostFields()) -> list[ImageRecord]:
    """Publish some of one's own images together, as one post with ``post``'s optional title, description and
    tags (private images of others stay hidden: NotFound).  The post's id is the id of its first image; images
    published before keep their post."""
    actor = require_login(actor)
    if not image_ids:
        raise InvalidInput("image_ids: name at least one of your images")
    rows = [get_image_row(actor, image_id) for image_id in image_ids]
    if any(row.owner_id != actor.id for row in rows):
        raise Forbidden("only the image's owner can publish it")
    if any(row.hidden for row in rows):
        raise Forbidden("a moderator hid this image: only a moderator can show it again")
    unpublished = [row.id for row in rows if not row.published]
    if unpublished:
        with store.write():
            Image.update(published=True, published_at=utcnow(), post_id=min(unpublished)).where(
                Image.id.in_(unpublished)).execute()
            create_post(min(unpublished), actor.id, post)
            notifications.notify_followers(actor.id, notifications.NEW_IMAGE, image=min(unpublished))
    return [get_image(actor, image_id) for image_id in image_ids]


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def upload_image(store: Store, outputs_dir: Path, actor: UserInfo | None, data: bytes) -> ImageRecord:
    """A published image from an uploaded PNG/JPEG/WebP, linked to its model by the parameters' ``Model hash``."""
    return upload_images(store, outputs_dir, actor, [lambda: data])[0]


@dataclass(frozen=True)
class _Stored:
    path: str  # the re-encoded PNG, written under outputs_dir
    decoded: DecodedImage
    meta: dict
    model_hash: str
    model_id: int | None
    version_id: int | None


def _store_picture(outputs_dir: Path, actor: UserInfo, data: bytes) -> _Stored:
    decoded = decode_upload(data)
    meta = parse_parameters(decoded.parameters) if decoded.parameters else {}
    model_hash = str(meta.get("Model hash", "")).strip().lower()[:64]
    model_id, version_id = link_model(actor, model_hash)
    path = write_png(outputs_dir, decoded.png)
    return _Stored(path, replace(decoded, png=b""), meta, model_hash, model_id, version_id)


def upload_images(store: Store, outputs_dir: Path, actor: UserInfo | None,
                  pictures: Sequence[Callable[[], bytes]]) -> list[ImageRecord]:
    """Published images from uploaded PNG/JPEG/WebP pictures (each one's bytes read when its turn comes), as one
    post whose id is its first image's: all or none, a picture refused refuses the post and nothing is kept."""
    actor = require_login(actor)
    if not pictures:
        raise InvalidInput("send at least one picture")
    if len(pictures) > MAX_POST_IMAGES:
        raise InvalidInput(f"a post holds at most {MAX_POST_IMAGES} pictures")
    stored: list[_Stored] = []
    try:
        for number, read in enumerate(pictures, 1):
            try:
                stored.append(_store_picture(outputs_dir, actor, read()))
            except VisionaryError as error:
                if len(pictures) == 1:
                    raise
                raise type(error)(f"picture {number}: {error.message}; nothing was posted") from None
        with store.write():
            now = utcnow()
            rows = [Image.create(
                owner=actor.id, path=item.path, width=item.decoded.width, height=item.decoded.height,
                prompt=item.meta.get("Prompt", ""), negative_prompt=item.meta.get("Negative prompt", ""),
                parameters=item.decoded.parameters, meta=json.dumps(item.meta),
                seed=_int_or_none(item.meta.get("Seed")), model_hash=item.model_hash, model=item.model_id,
                model_version=item.version_id, published=True, published_at=now, created_at=now,
                blurhash=item.decoded.blurhash) for item in stored]
            Image.update(post_id=rows[0].id).where(Image.id.in_([row.id for row in rows])).execute()
            notifications.notify_followers(actor.id, notifications.NEW_IMAGE, image=rows[0].id)
    except BaseException:
        for item in stored:
            remove_output(outputs_dir, item.path)
        raise
    return image_records(list(Image.select().where(Image.id.in_([row.id for row in rows])).order_by(Image.id)),
                         actor)
