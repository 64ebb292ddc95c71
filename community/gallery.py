"""The gallery: images made here or uploaded, published for everyone or kept private.

An image is private to its owner (and admins) until published.  Uploaded
pictures become published images at once; the model that made a picture is
found from the ``Model hash`` in its A1111 parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from peewee import fn

from community.posts import PostRecord, posts_by_id
from core.accounts.accounts import UserInfo, record_admin_action, username_key
from core.errors import Forbidden, InvalidInput, NotFound
from core.generation.outputs import remove_output
from core.library import trending
from core.library.base_models import matching_names
from core.library.library import hides_unsafe, visible_models, visible_to
from core.library.library_edit import require_login
from core.library.model_filters import since
from core.paging import Page, bounds, paginate, slice_page
from core.search import IMAGES
from core.search.engine import in_order, ranked_ids
from core.store import Store, iso
from core.tables import RATINGS, AiModel, Image, ModelVersion, User

SORTS = {
    "newest": (Image.published_at.desc(), Image.id.desc()),
    "oldest": (Image.published_at, Image.id),
    "most_liked": (Image.like_count.desc(), Image.id.desc()),
    "most_comments": (Image.comment_count.desc(), Image.published_at.desc(), Image.id.desc()),
}
MINE_SORTS = SORTS | {"newest": (Image.created_at.desc(), Image.id.desc()), "oldest": (Image.created_at, Image.id),
                      "most_comments": (Image.comment_count.desc(), Image.created_at.desc(), Image.id.desc())}
MAX_IMAGES_PAGE = 200  # Civitai's images listing allows up to 200 a page
RELEVANCE = "relevance"  # best prompt match first; needs a query
# Civitai's names for the same sorts.
SORT_ALIASES = {"Newest": "newest", "Oldest": "oldest", "Most Reactions": "most_liked", "Most Liked": "most_liked",
                "Most Comments": "most_comments", "Most Commented": "most_comments"}


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
    meta: dict  # core.generation.pnginfo.parse_parameters of ``parameters``
    seed: int | None
    model_hash: str
    model_id: int | None
    model_version_id: int | None
    published: bool
    published_at: str | None
    created_at: str
    like_count: int
    blurhash: str | None  # None for images recorded before hashes were kept
    post_id: int | None  # the images published together share it; None while private
    base_model: str | None  # the base model of the version that made it
    comment_count: int = 0
    post: PostRecord | None = None  # the post's title, description and tags, where its author gave them
    hidden: bool = False  # a moderator hid it (it is unpublished meanwhile)
    rating: str = "safe"  # safe, mature or explicit (core.tables.RATINGS)


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
    post_id: int | None = None
    image_id: int | None = None
    with_meta: bool | None = None  # True: only images with generation parameters; False: only those without
    max_rating: str | None = None  # Civitai's ``nsfw`` filter: at most this rating (the viewer's setting applies too)
    base_models: tuple[str, ...] = ()
    period: str = "AllTime"
    videos_only: bool = False  # every image here is a still picture


def _meta(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _models_seen_by(viewer: UserInfo | None, model_ids: set[int]) -> set[int]:
    if not model_ids:
        return set()
    return {row.id for row in AiModel.select(AiModel.id).where(AiModel.id.in_(model_ids), visible_to(viewer))}


def image_records(rows: list[Image], viewer: UserInfo | None) -> list[ImageRecord]:
    """Records of ``rows`` as ``viewer`` sees them: the link to a model they may not see is left out."""
    names = {u.id: u.username for u in User.select(User.id, User.username).where(User.id.in_({r.owner_id for r in rows}))}
    seen = _models_seen_by(viewer, {r.model_id for r in rows if r.model_id is not None})
    version_ids = {r.model_version_id for r in rows if r.model_id in seen and r.model_version_id is not None}
    bases = {v.id: v.base_model for v in ModelVersion.select(ModelVersion.id, ModelVersion.base_model)
             .where(ModelVersion.id.in_(version_ids))} if version_ids else {}
    posts = posts_by_id(row.post_id for row in rows if row.published)
    return [ImageRecord(
        row.id, row.owner_id, names.get(row.owner_id, ""), row.path, row.width, row.height, row.prompt,
        row.negative_prompt, row.parameters, _meta(row.meta), row.seed, row.model_hash,
        row.model_id if row.model_id in seen else None, row.model_version_id if row.model_id in seen else None,
        row.published, iso(row.published_at), iso(row.created_at), row.like_count, row.blurhash, row.post_id,
        bases.get(row.model_version_id) if row.model_id in seen else None, row.comment_count,
        posts.get(row.post_id) if row.published else None, row.hidden, row.rating,
    ) for row in rows]


def version_images(viewer: UserInfo | None, version_ids: list[int], per_version: int = 10) -> dict[int, list[ImageRecord]]:
    """The newest ``per_version`` published images made with each version, by version id (one query)."""
    if not version_ids:
        return {}
    rank = fn.ROW_NUMBER().over(partition_by=[Image.model_version], order_by=[Image.id.desc()])
    ranked = (Image.select(Image.id, rank.alias("place"))
              .where(Image.published == True, Image.model_version.in_(version_ids), rated_for(viewer)))  # noqa: E712
    ids = Image.select(ranked.c.id).from_(ranked).where(ranked.c.place <= per_version)
    rows = list(Image.select().where(Image.id.in_(ids)).order_by(Image.id.desc()))
    by_version: dict[int, list[ImageRecord]] = {}
    for record in image_records(rows, viewer):
        if record.model_version_id is not None:
            by_version.setdefault(record.model_version_id, []).append(record)
    return by_version


def can_view_image(actor: UserInfo | None, row: Image) -> bool:
    """Published images for everyone; the others for their owner and admins, and hidden ones (a moderator's
    decision) for the moderators too; what is not safe not for someone who hides it (their own stays)."""
    own = actor is not None and actor.id == row.owner_id
    if hides_unsafe(actor) and row.rating != "safe" and not own:
        return False
    return row.published or (actor is not None and (actor.is_admin or own or (actor.is_moderator and row.hidden)))


def rated_for(actor: UserInfo | None, max_rating: str | None = None):
    """The condition on ``Image`` rows whose rating the actor wants (and at most ``max_rating``, an API filter)."""
    allowed = RATINGS[:RATINGS.index(max_rating) + 1] if max_rating else RATINGS
    if hides_unsafe(actor):
        allowed = allowed[:1]
    condition = Image.rating.in_(list(allowed)) if len(allowed) < len(RATINGS) else Image.id.is_null(False)
    return condition | (Image.owner == actor.id) if actor is not None and max_rating is None else condition


def get_image_row(actor: UserInfo | None, image_id: int) -> Image:
    row = Image.get_or_none(Image.id == image_id)
    if row is None or not can_view_image(actor, row):
        raise NotFound(f"no image with id {image_id}")
    return row


def image_bytes(outputs: Path, actor: UserInfo | None, image_id: int) -> bytes:
    """The PNG of an image the actor may see (to start an img2img from it)."""
    return (Path(outputs) / get_image_row(actor, image_id).path).read_bytes()


def get_image(actor: UserInfo | None, image_id: int) -> ImageRecord:
    return image_records([get_image_row(actor, image_id)], actor)[0]


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
        raise InvalidInput(f"sort: unknown {q.sort!r}; use one of {', '.join(SORT_ALIASES)}, {RELEVANCE}")
    if sort == RELEVANCE and not q.query.strip():
        raise InvalidInput(f"sort={RELEVANCE} needs a query")
    return sort


def _filtered(actor: UserInfo | None, q: ImageQuery):
    if q.mine:
        query = Image.select().where(Image.owner == require_login(actor).id)
    else:
        query = Image.select().where(Image.published == True, rated_for(actor, q.max_rating))  # noqa: E712
    if q.model_id is not None:  # a model the actor may not see has no images for them
        query = query.where(Image.model.in_(AiModel.select(AiModel.id).where(AiModel.id == q.model_id,
                                                                             visible_to(actor))))
    if q.model_version_id is not None:
        query = query.where(Image.model_version.in_(
            ModelVersion.select(ModelVersion.id).join(AiModel).where(ModelVersion.id == q.model_version_id,
                                                                     visible_to(actor))))
    if q.username:
        query = query.where(Image.owner.in_(User.select(User.id).where(User.username_key == username_key(q.username))))
    query = _narrowed(query, q)
    if q.query.strip():
        query = query.where(Image.id.in_(ranked_ids(IMAGES, q.query, query.select(Image.id))))
    return query


def _narrowed(query, q: ImageQuery):
    """Civitai's other image filters: post, image, parameters present, base model, period, media type."""
    if q.post_id is not None:
        query = query.where(Image.post_id == q.post_id)
    if q.image_id is not None:
        query = query.where(Image.id == q.image_id)
    if q.with_meta is not None:
        has_meta = Image.parameters != ""
        query = query.where(has_meta if q.with_meta else ~has_meta)
    if q.base_models:
        query = query.where(Image.model_version.in_(
            ModelVersion.select(ModelVersion.id).where(ModelVersion.base_model.in_(matching_names(q.base_models)))))
    start = since(q.period)
    if start is not None:
        query = query.where((Image.published_at if not q.mine else Image.created_at) >= start)
    if q.videos_only:
        query = query.where(Image.id.in_([]))
    return query


def list_images(actor: UserInfo | None, q: ImageQuery) -> Page:
    """Published images (or the actor's own with ``mine``), filtered and sorted: a Page of ImageRecord."""
    sort = _sort_name(q)
    if sort == RELEVANCE:
        return _by_relevance(actor, q)
    if sort in trending.IMAGE_WINDOWS and since(q.period) is not None and not q.mine:
        return _by_period(actor, q, sort)
    order = (MINE_SORTS if q.mine else SORTS)[sort]
    return paginate(_filtered(actor, q).order_by(*order), q.page, q.limit,
                    lambda rows: image_records(rows, actor), q.cursor,
                    max_size=MAX_IMAGES_PAGE)


def _by_period(actor: UserInfo | None, q: ImageQuery, sort: str) -> Page:
    """Ranked by the period's likes or comments (every published picture may take part)."""
    candidates = _filtered(actor, replace(q, period="AllTime"))
    offset, limit = bounds(q.page, q.limit, q.cursor, max_size=MAX_IMAGES_PAGE)
    ids = trending.ranked_ids(candidates, Image.id, trending.IMAGE_WINDOWS[sort], q.period, offset, limit)
    rows = in_order(Image.select().where(Image.id.in_(ids)), ids)
    return Page(tuple(image_records(rows, actor)), candidates.count(), offset // limit + 1, limit)


def _by_relevance(actor: UserInfo | None, q: ImageQuery) -> Page:
    ranked = ranked_ids(IMAGES, q.query, _filtered(actor, replace(q, query="")).select(Image.id))
    ids, page, limit = slice_page(ranked, q.page, q.limit, q.cursor, max_size=MAX_IMAGES_PAGE)
    rows = in_order(Image.select().where(Image.id.in_(ids)), ids)
    return Page(tuple(image_records(rows, actor)), len(ranked), page, limit)


def image_models(actor: UserInfo | None) -> list[tuple[int, str]]:
    """``(id, name)`` of the models the actor may see that published images were made with, by name."""
    used = Image.select(Image.model).where(Image.published == True, Image.model.is_null(False))  # noqa: E712
    rows = visible_models(actor).where(AiModel.id.in_(used)).order_by(AiModel.name, AiModel.id)
    return [(row.id, row.name) for row in rows]


def set_image_rating(store: Store, actor: UserInfo | None, image_id: int, rating: str) -> ImageRecord:
    """Rate a picture safe, mature or explicit: its owner, or a moderator (audit-logged)."""
    actor = require_login(actor)
    row = get_image_row(actor, image_id)
    if not (actor.can_moderate or actor.id == row.owner_id):
        raise Forbidden("only the image's owner or a moderator can rate it")
    if rating not in RATINGS:
        raise InvalidInput("rating must be safe, mature or explicit")
    with store.write():
        Image.update(rating=rating).where(Image.id == image_id).execute()
        if actor.id != row.owner_id:
            record_admin_action(actor, "rate_image", f"image:{image_id}:{rating}")
    return get_image(actor, image_id)


def delete_image(store: Store, outputs_dir: Path, actor: UserInfo | None, image_id: int) -> None:
    """Delete one's own image (an admin any, audit-logged): the row, then the file."""
    actor = require_login(actor)
    row = get_image_row(actor, image_id)
    if not (actor.can_moderate or actor.id == row.owner_id):
        raise Forbidden("only the image's owner or a moderator can delete it")
    with store.write():
        Image.delete().where(Image.id == image_id).execute()
        if actor.id != row.owner_id:
            record_admin_action(actor, "delete_image", f"image:{image_id}")
    remove_output(outputs_dir, row.path)
