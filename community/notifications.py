"""One's notifications: listed newest first and grouped, the unread count, marking read, and which kinds to get.

The actions write them (``core.notifications``); this module reads them as the
person sees them: likes of one item and follows are grouped ("12 people liked
…"), everything else is one entry each.  What the reader may no longer see
(a model made private, an image unpublished) and what a banned user did are
left out, so the bell never counts what the list cannot show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from peewee import JOIN, Case, fn

from core.accounts.accounts import UserInfo
from core.errors import InvalidInput, NotFound
from core.library.library import visible_models
from core.library.library_edit import require_login
from core.notifications import FOLLOW, LIKE, MUTE_PREFIX, OPTIONAL_KINDS, Notification
from core.paging import Page, paginate
from core.store import Store, iso, utcnow
from core.tables import AiModel, Comment, Image, User, UserPreference

GROUPED_KINDS = (LIKE, FOLLOW)  # many people doing the same to the same thing: one entry
EXCERPT_CHARS = 140
Actor = User.alias("actor_user")


@dataclass(frozen=True)
class NotificationRecord:
    id: int  # the newest notification of the entry (what marking it read names)
    kind: str  # core.notifications' kinds
    count: int  # the notifications it stands for (people who liked, followed)
    unread: bool
    actor: str | None  # who did it (the newest of them); None: the site's moderators
    created_at: str
    model_id: int | None = None
    model_name: str | None = None
    image_id: int | None = None
    comment_id: int | None = None
    excerpt: str = ""  # the comment's start
    detail: dict | str = ""  # a moderator's decision: action, type and name of the item, reason

    def as_dict(self) -> dict:
        return {"id": self.id, "type": self.kind, "count": self.count, "read": not self.unread,
                "actor": self.actor, "createdAt": self.created_at, "modelId": self.model_id,
                "modelName": self.model_name, "imageId": self.image_id, "commentId": self.comment_id,
                "excerpt": self.excerpt, "detail": self.detail}


def _visible_to_reader(user: UserInfo):
    """The reader's notifications that they may still see, from people who are not banned."""
    seen_images = Image.select(Image.id).where((Image.published == True) | (Image.owner == user.id))  # noqa: E712
    return (Notification.select().join(Actor, JOIN.LEFT_OUTER, on=(Notification.actor == Actor.id))
            .where(Notification.recipient == user.id,
                   Notification.actor.is_null() | (Actor.is_banned == False),  # noqa: E712
                   Notification.model.is_null() | Notification.model.in_(visible_models(user).select(AiModel.id)),
                   Notification.image.is_null() | Notification.image.in_(seen_images)))


def _group_key():
    """Entries: likes of one item (and follows) share a key; every other notification is its own."""
    return Case(None, [(Notification.kind.in_(GROUPED_KINDS), 0)], Notification.id)


def _entries(user: UserInfo, unread_only: bool):
    query = _visible_to_reader(user)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    newest = fn.MAX(Notification.id)
    return (query.select(newest.alias("newest"), fn.COUNT(Notification.id).alias("count"),
                         fn.SUM(Case(None, [(Notification.read_at.is_null(), 1)], 0)).alias("unread"))
            .group_by(Notification.kind, Notification.model, Notification.image, Notification.comment,
                      _group_key())
            .order_by(newest.desc()))


def _records(groups: list) -> list[NotificationRecord]:
    ids = [group.newest for group in groups]
    rows = {row.id: row for row in Notification.select(
        Notification, Actor.id, Actor.username, AiModel.id, AiModel.name, Comment.id, Comment.body)
        .join(Actor, JOIN.LEFT_OUTER, on=(Notification.actor == Actor.id))
        .switch(Notification).join(AiModel, JOIN.LEFT_OUTER, on=(Notification.model == AiModel.id))
        .switch(Notification).join(Comment, JOIN.LEFT_OUTER, on=(Notification.comment == Comment.id))
        .where(Notification.id.in_(ids))} if ids else {}
    records = []
    for group in groups:
        row = rows[group.newest]
        body = row.comment.body if row.comment_id is not None else ""
        records.append(NotificationRecord(
            row.id, row.kind, group.count, bool(group.unread), row.actor.username if row.actor_id else None,
            iso(row.created_at), row.model_id, row.model.name if row.model_id is not None else None,
            row.image_id, row.comment_id, body[:EXCERPT_CHARS], _detail(row.detail)))
    return records


def _detail(stored: str) -> dict | str:
    """A moderator's decision is kept as JSON (``community.moderation.decision_detail``)."""
    if stored.startswith("{"):
        try:
            return json.loads(stored)
        except ValueError:
            pass
    return stored


def notifications_of(actor: UserInfo | None, page: int = 1, limit: int = 20, unread_only: bool = False,
                     cursor: str | None = None) -> Page:
    """The actor's notifications, newest first, grouped: a Page of NotificationRecord."""
    user = require_login(actor)
    return paginate(_entries(user, unread_only), page, limit, _records, cursor)


def unread_count(actor: UserInfo | None) -> int:
    """How many notifications the actor has not read (what the bell shows)."""
    if actor is None:
        return 0
    return _visible_to_reader(actor).where(Notification.read_at.is_null()).count()


def mark_read(store: Store, actor: UserInfo | None, notification_id: int) -> int:
    """Mark an entry read (all the notifications it groups); returns the unread count left."""
    user = require_login(actor)
    row = Notification.get_or_none(Notification.id == notification_id, Notification.recipient == user.id)
    if row is None:
        raise NotFound(f"no notification with id {notification_id}")
    same = Notification.id == row.id
    if row.kind in GROUPED_KINDS:
        same = ((Notification.kind == row.kind) & _same(Notification.model, row.model_id)
                & _same(Notification.image, row.image_id))
    with store.write():
        Notification.update(read_at=utcnow()).where(
            Notification.recipient == user.id, Notification.read_at.is_null(), same).execute()
    return unread_count(user)


def _same(field, value):
    return field.is_null() if value is None else field == value


def mark_all_read(store: Store, actor: UserInfo | None) -> int:
    user = require_login(actor)
    with store.write():
        Notification.update(read_at=utcnow()).where(
            Notification.recipient == user.id, Notification.read_at.is_null()).execute()
    return 0


def muted_kinds(actor: UserInfo | None) -> list[str]:
    """The kinds of notification the actor turned off."""
    user = require_login(actor)
    keys = {row.key for row in UserPreference.select(UserPreference.key).where(
        UserPreference.user == user.id, UserPreference.key.startswith(MUTE_PREFIX))}
    return [kind for kind in OPTIONAL_KINDS if MUTE_PREFIX + kind in keys]


def set_muted_kinds(store: Store, actor: UserInfo | None, kinds: Iterable[str]) -> list[str]:
    """Turn off exactly ``kinds`` (the others on); an unknown kind is refused, naming the ones there are."""
    user = require_login(actor)
    wanted = list(dict.fromkeys(kinds))
    unknown = [kind for kind in wanted if kind not in OPTIONAL_KINDS]
    if unknown:
        raise InvalidInput(f"no notification kind {unknown[0]!r}: choose from {', '.join(OPTIONAL_KINDS)}")
    with store.write():
        UserPreference.delete().where(UserPreference.user == user.id,
                                      UserPreference.key.startswith(MUTE_PREFIX)).execute()
        if wanted:
            UserPreference.insert_many([{"user": user.id, "key": MUTE_PREFIX + kind, "value": "1"}
                                        for kind in wanted]).execute()
    return muted_kinds(user)
