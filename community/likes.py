"""Likes on models and published images: idempotent, one per user per item, counts always exact.

Each like or unlike runs in one write transaction holding the item's row
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR NO KEY UPDATE`` on PostgreSQL):
insert-or-ignore (or delete) the user's row, then set the item's
``like_count`` to the number of rows (and its period counters, ``core.library.trending``).  Concurrent requests, from any process,
take turns on that lock, so the stored count never drifts from the rows.
A new like tells the item's owner (``core.notifications``); an unlike takes
that notification back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from peewee import fn

from community.gallery import get_image_row
from core import events, notifications
from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.library.library import get_model_row
from core.library.library_edit import require_login
from core.store import Store
from core.tables import AiModel, Image, ImageLike, ModelLike


@dataclass(frozen=True)
class LikeState:
    liked: bool
    likes: int

    def as_dict(self) -> dict:
        return {"liked": self.liked, "likes": self.likes}


@dataclass(frozen=True)
class _Target:
    like: type  # ModelLike or ImageLike
    item: type  # AiModel or Image
    column: str  # the like's foreign-key field naming the item
    window: events.Window  # the likes as the period rankings count them


MODEL = _Target(ModelLike, AiModel, "model", events.MODEL_LIKES)
IMAGE = _Target(ImageLike, Image, "image", events.IMAGE_LIKES)


def _set(store: Store, target: _Target, user_id: int, item_id: int, liked: bool, check: Callable[[], object]) \
        -> LikeState:
    """``check`` (may the user like the item?) runs inside the transaction, so the item cannot vanish meanwhile."""
    key = getattr(target.like, target.column)
    subject = {target.column: item_id}
    with store.write():
        store.lock_row(target.item, item_id)
        owner_id = check().owner_id
        already = target.like.select().where(target.like.user == user_id, key == item_id).exists()
        if liked and not already:
            target.like.insert(user=user_id, **subject).execute()
            notifications.notify([owner_id], notifications.LIKE, user_id, **subject)
        elif not liked and already:
            target.like.delete().where(target.like.user == user_id, key == item_id).execute()
            notifications.withdraw(notifications.LIKE, user_id, **subject)
        count = target.like.select(fn.COUNT(target.like.id)).where(key == item_id).scalar()
        target.item.update(like_count=count).where(target.item.id == item_id).execute()
        events.recount(target.window, item_id)
    return LikeState(liked, count)


def _state(target: _Target, actor: UserInfo | None, item_id: int, likes: int) -> LikeState:
    key = getattr(target.like, target.column)
    liked = actor is not None and target.like.select().where(target.like.user == actor.id, key == item_id).exists()
    return LikeState(liked, likes)


def set_model_like(store: Store, actor: UserInfo | None, model_id: int, liked: bool) -> LikeState:
    """Like (``liked=True``) or unlike a model the actor can see; repeating either changes nothing."""
    actor = require_login(actor)
    return _set(store, MODEL, actor.id, model_id, liked, lambda: get_model_row(actor, model_id))


def model_like(actor: UserInfo | None, model_id: int) -> LikeState:
    """Whether the actor likes a model, and its like count."""
    return _state(MODEL, actor, model_id, get_model_row(actor, model_id).like_count)


def _published_image(actor: UserInfo | None, image_id: int) -> Image:
    row = get_image_row(actor, image_id)
    if not row.published:
        raise InvalidInput("publish the image before it can be liked")
    return row


def set_image_like(store: Store, actor: UserInfo | None, image_id: int, liked: bool) -> LikeState:
    """Like or unlike a published image."""
    actor = require_login(actor)
    return _set(store, IMAGE, actor.id, image_id, liked, lambda: _published_image(actor, image_id))


def image_like(actor: UserInfo | None, image_id: int) -> LikeState:
    return _state(IMAGE, actor, image_id, _published_image(actor, image_id).like_count)
