"""The gallery: images made here or uploaded, published for everyone or kept private.

An image is private to its owner (and admins) until published.  Uploaded
pictures become published images at once; the model that made a picture is
found from the ``Model hash`` in its A1111 parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from community.accounts import UserInfo, record_admin_action, username_key
from community.image_upload import decode_upload
from community.paging import paginate, slice_page
from community.search import in_order, ranked_ids
from core.errors import Forbidden, InvalidInput, NotFound
from core.library import Page, visible_models
from core.library_edit import require_login
from core.outputs import remove_output, write_png
from core.pnginfo import parse_parameters
from core.search_index import ImageSearch
from core.store import AiModel, Image, ModelFile, ModelVersion, Store, User, iso, utcnow

SORTS = {
    "newest": (Image.published_at.desc(), Image.id.desc()),
    "most_liked": (Image.like_count.desc(), Image.id.desc()),
}
MINE_SORTS = {"newest": (Image.created_at.desc(), Image.id.desc()), "most_liked": SORTS["most_liked"]}
RELEVANCE = "relevance"  # best prompt match first; needs a query
# Civitai's names for the same sorts.
SORT_ALIASES = {"Newest": "newest", "Most Reactions": "most_liked", "Most Liked": "most_liked"}


@dataclass(frozen=True)
class ImageRecord:
    id: int
    owner_id: int
    username: str
    path: str  # relative to outputs_dir, served at /media/<path>
    width: int
    height: int
    prompt: str
    negative_prompt: str
    parameters: str
    meta: dict  # core.pnginfo.parse_parameters of ``parameters``
    seed: int | None
    model_hash: str
    model_id: int | None
    model_version_id: int | None
    published: bool
    published_at: str | None
    created_at: str
    like_count: int


@dataclass(frozen=True)
class ImageQuery:
    model_id: int | None = None
    model_version_id: int | None = None
    username: str = ""
    query: str = ""
    sort: str = "newest"
    page: int = 1
    limit: int = 20
    cursor: str | None = None
    mine: bool = False  # the actor's own images, unpublished ones included


def _meta(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def image_records(rows: list[Image]) -> list[ImageRecord]:
    names = {u.id: u.username for u in User.select(User.id, User.username).where(User.id.in_({r.owner_id for r in rows}))}
    return [ImageRecord(
        row.id, row.owner_id, names.get(row.owner_id, ""), row.path, row.width, row.height, row.prompt,
        row.negative_prompt, row.parameters, _meta(row.meta), row.seed, row.model_hash, row.model_id,
        row.model_version_id, row.published, iso(row.published_at), iso(row.created_at), row.like_count,
    ) for row in rows]


def can_view_image(actor: UserInfo | None, row: Image) -> bool:
    return row.published or (actor is not None and (actor.is_admin or actor.id == row.owner_id))


def get_image_row(actor: UserInfo | None, image_id: int) -> Image:
    row = Image.get_or_none(Image.id == image_id)
    if row is None or not can_view_image(actor, row):
        raise NotFound(f"no image with id {image_id}")
    return row


def get_image(actor: UserInfo | None, image_id: int) -> ImageRecord:
    return image_records([get_image_row(actor, image_id)])[0]


@dataclass(frozen=True)
class MediaFile:
    path: str  # relative to outputs_dir
    public: bool


def media_file(actor: UserInfo | None, relative_path: str) -> MediaFile:
    """The image file at ``relative_path`` if it is an image the actor may see (else NotFound)."""
    row = Image.get_or_none(Image.path == relative_path)
    if row is None or not can_view_image(actor, row):
        raise NotFound("no such image")
    return MediaFile(row.path, row.published)


def _sort_name(q: ImageQuery) -> str:
    sort = SORT_ALIASES.get(q.sort, q.sort) or "newest"
    if sort not in SORTS and sort != RELEVANCE:
        raise InvalidInput(f"unknown sort {q.sort!r}: use one of {', '.join(SORTS)}, {RELEVANCE}")
    if sort == RELEVANCE and not q.query.strip():
        raise InvalidInput(f"sort={RELEVANCE} needs a query")
    return sort


def _filtered(actor: UserInfo | None, q: ImageQuery):
    if q.mine:
        query = Image.select().where(Image.owner == require_login(actor).id)
    else:
        query = Image.select().where(Image.published == True)  # noqa: E712
    if q.model_id is not None:
        query = query.where(Image.model == q.model_id)
    if q.model_version_id is not None:
        query = query.where(Image.model_version == q.model_version_id)
    if q.username:
        query = query.where(Image.owner.in_(User.select(User.id).where(User.username_key == username_key(q.username))))
    if q.query.strip():
        query = query.where(Image.id.in_(ranked_ids(ImageSearch, q.query, query.select(Image.id))))
    return query


def list_images(actor: UserInfo | None, q: ImageQuery) -> Page:
    """Published images (or the actor's own with ``mine``), filtered and sorted: a Page of ImageRecord."""
    sort = _sort_name(q)
    if sort == RELEVANCE:
        return _by_relevance(actor, q)
    order = (MINE_SORTS if q.mine else SORTS)[sort]
    return paginate(_filtered(actor, q).order_by(*order), q.page, q.limit, image_records, q.cursor)


def _by_relevance(actor: UserInfo | None, q: ImageQuery) -> Page:
    ranked = ranked_ids(ImageSearch, q.query, _filtered(actor, replace(q, query="")).select(Image.id))
    ids, page, limit = slice_page(ranked, q.page, q.limit, q.cursor)
    rows = in_order(Image.select().where(Image.id.in_(ids)), ids)
    return Page(tuple(image_records(rows)), len(ranked), page, limit)


def image_models(actor: UserInfo | None) -> list[tuple[int, str]]:
    """``(id, name)`` of the models the actor may see that published images were made with, by name."""
    used = Image.select(Image.model).where(Image.published == True, Image.model.is_null(False))  # noqa: E712
    rows = visible_models(actor).where(AiModel.id.in_(used)).order_by(AiModel.name, AiModel.id)
    return [(row.id, row.name) for row in rows]


def link_model(model_hash: str) -> tuple[int | None, int | None]:
    """(model id, version id) of the file whose AutoV2 or SHA-256 starts with ``model_hash``."""
    value = (model_hash or "").strip().lower()
    if len(value) < 10 or len(value) > 64 or any(ch not in "0123456789abcdef" for ch in value):
        return None, None
    if len(value) == 10:
        row = ModelFile.select(ModelFile.version).where(ModelFile.autov2 == value).first()
    else:
        row = ModelFile.select(ModelFile.version).where(ModelFile.sha256 >= value, ModelFile.sha256 < value + "g").first()
    if row is None:
        return None, None
    version = ModelVersion.get_by_id(row.version_id)
    return version.model_id, version.id


def publish_image(store: Store, actor: UserInfo | None, image_id: int) -> ImageRecord:
    """Publish one's own image (private images of others stay hidden: NotFound)."""
    actor = require_login(actor)
    row = get_image_row(actor, image_id)
    if row.owner_id != actor.id:
        raise Forbidden("only the image's owner can publish it")
    if not row.published:
        with store.write():
            Image.update(published=True, published_at=utcnow()).where(Image.id == image_id).execute()
    return get_image(actor, image_id)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def upload_image(store: Store, outputs_dir: Path, actor: UserInfo | None, data: bytes) -> ImageRecord:
    """A published image from an uploaded PNG/JPEG/WebP, linked to its model by the parameters' ``Model hash``."""
    actor = require_login(actor)
    decoded = decode_upload(data)
    meta = parse_parameters(decoded.parameters) if decoded.parameters else {}
    model_hash = str(meta.get("Model hash", "")).strip().lower()[:64]
    model_id, version_id = link_model(model_hash)
    path = write_png(outputs_dir, decoded.png)
    try:
        with store.write():
            now = utcnow()
            row = Image.create(
                owner=actor.id, path=path, width=decoded.width, height=decoded.height,
                prompt=meta.get("Prompt", ""), negative_prompt=meta.get("Negative prompt", ""),
                parameters=decoded.parameters, meta=json.dumps(meta), seed=_int_or_none(meta.get("Seed")),
                model_hash=model_hash, model=model_id, model_version=version_id, published=True,
                published_at=now, created_at=now)
    except BaseException:
        remove_output(outputs_dir, path)
        raise
    return get_image(actor, row.id)


def delete_image(store: Store, outputs_dir: Path, actor: UserInfo | None, image_id: int) -> None:
    """Delete one's own image (an admin any, audit-logged): the row, then the file."""
    actor = require_login(actor)
    row = get_image_row(actor, image_id)
    if not (actor.is_admin or actor.id == row.owner_id):
        raise Forbidden("only the image's owner or an admin can delete it")
    with store.write():
        Image.delete().where(Image.id == image_id).execute()
        if actor.id != row.owner_id:
            record_admin_action(actor, "delete_image", f"image:{image_id}")
    remove_output(outputs_dir, row.path)
