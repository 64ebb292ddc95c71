"""People: follow/unfollow, profiles, and the feed of what followed users post."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import SQL, Value, fn

from community.gallery import ImageRecord, image_records, rated_for
from core import notifications
from core.accounts.accounts import UserInfo, user_info, user_row
from core.errors import InvalidInput
from core.library.library import visible_models, visible_to
from core.library.library_edit import require_login
from core.library.model_records import ModelRecord, model_records
from core.paging import Page, bounds
from core.store import Store
from core.tables import AiModel, Follow, Image

PROFILE_ITEMS = 12


@dataclass(frozen=True)
class FollowState:
    following: bool
    followers: int

    def as_dict(self) -> dict:
        return {"following": self.following, "followers": self.followers}


@dataclass(frozen=True)
class Profile:
    user: UserInfo
    followers: int
    following: int
    model_count: int
    image_count: int
    is_following: bool  # the viewer follows this user
    models: tuple[ModelRecord, ...]  # newest first, at most PROFILE_ITEMS
    images: tuple[ImageRecord, ...]


@dataclass(frozen=True)
class FeedItem:
    kind: str  # "model" or "image"
    created_at: str
    model: ModelRecord | None = None
    image: ImageRecord | None = None


def follower_count(user_id: int) -> int:
    return Follow.select().where(Follow.followee == user_id).count()


def following_count(user_id: int) -> int:
    return Follow.select().where(Follow.follower == user_id).count()


def is_following(actor: UserInfo | None, user_id: int) -> bool:
    return actor is not None and Follow.select().where(Follow.follower == actor.id, Follow.followee == user_id).exists()


def set_following(store: Store, actor: UserInfo | None, username: str, follow: bool) -> FollowState:
    """Follow (or unfollow) a user; repeating either changes nothing."""
    actor = require_login(actor)
    target = user_row(username)
    if target.id == actor.id:
        raise InvalidInput("you cannot follow yourself")
    with store.write():
        if follow:
            if Follow.insert(follower=actor.id, followee=target.id).on_conflict_ignore().as_rowcount().execute():
                notifications.notify([target.id], notifications.FOLLOW, actor.id)
        elif Follow.delete().where(Follow.follower == actor.id, Follow.followee == target.id).execute():
            notifications.withdraw(notifications.FOLLOW, actor.id, recipient=target.id)
    return FollowState(follow, follower_count(target.id))


def public_model_counts(user_ids: list[int]) -> dict[int, int]:
    """Each user's number of public models (users without any left out)."""
    rows = (AiModel.select(AiModel.owner, fn.COUNT(AiModel.id))
            .where(AiModel.owner.in_(user_ids), AiModel.visibility == "public").group_by(AiModel.owner))
    return dict(rows.tuples())


def _public_images(actor: UserInfo | None, owner_id: int):
    return Image.select().where(Image.owner == owner_id, Image.published == True, rated_for(actor))  # noqa: E712


def profile(actor: UserInfo | None, username: str) -> Profile:
    """A user's page: bio, counts, newest models (those the viewer may see) and published images."""
    row = user_row(username)
    models = visible_models(actor).where(AiModel.owner == row.id)
    images = _public_images(actor, row.id)
    return Profile(
        user_info(row), follower_count(row.id), following_count(row.id), models.count(), images.count(),
        is_following(actor, row.id),
        tuple(model_records(models.order_by(AiModel.created_at.desc(), AiModel.id.desc()).limit(PROFILE_ITEMS))),
        tuple(image_records(list(images.order_by(Image.published_at.desc(), Image.id.desc()).limit(PROFILE_ITEMS)),
                            actor)))


def _followed(actor: UserInfo):
    return Follow.select(Follow.followee).where(Follow.follower == actor.id)


def feed(actor: UserInfo | None, page: int = 1, limit: int = 20, cursor: str | None = None) -> Page:
    """New public models and published images of the users the actor follows, newest first: a Page of FeedItem."""
    actor = require_login(actor)
    followed = _followed(actor)
    models = (AiModel.select(Value("model").alias("kind"), AiModel.id.alias("item_id"),
                             AiModel.created_at.alias("at"))
              .where(AiModel.owner.in_(followed), AiModel.visibility == "public", visible_to(actor)))
    images = (Image.select(Value("image").alias("kind"), Image.id.alias("item_id"), Image.published_at.alias("at"))
              .where(Image.owner.in_(followed), Image.published == True, rated_for(actor)))  # noqa: E712
    offset, limit = bounds(page, limit, cursor)
    union = models.union_all(images)
    entries = list(union.order_by(SQL("at").desc(), SQL("item_id").desc()).offset(offset).limit(limit).dicts())
    return Page(tuple(_feed_items(actor, entries)), models.count() + images.count(), offset // limit + 1, limit)


def _feed_items(actor: UserInfo, entries: list[dict]) -> list[FeedItem]:
    model_ids = [e["item_id"] for e in entries if e["kind"] == "model"]
    image_ids = [e["item_id"] for e in entries if e["kind"] == "image"]
    models = {m.id: m for m in model_records(AiModel.select().where(AiModel.id.in_(model_ids)))}
    images = {i.id: i for i in image_records(list(Image.select().where(Image.id.in_(image_ids))), actor)}
    items = []
    for entry in entries:
        if entry["kind"] == "model" and entry["item_id"] in models:
            model = models[entry["item_id"]]
            items.append(FeedItem("model", model.created_at, model=model))
        elif entry["kind"] == "image" and entry["item_id"] in images:
            image = images[entry["item_id"]]
            items.append(FeedItem("image", image.published_at, image=image))
    return items
