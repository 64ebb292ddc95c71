"""Notifications: the table, and writing them in the transaction of the action that causes them.

An action (a comment, a like, a follow, a new model …) calls ``notify`` (the
people it concerns) or ``notify_followers`` (everyone following the actor)
inside its own ``store.write()``: the notification exists exactly when the
action does.  Telling followers writes one ``pending_fanout`` row in that
transaction; ``fanout_writer`` (a thread of every app process) turns it into
one notification per follower moments later, in one ``INSERT … SELECT``, so
publishing costs the same with 10,000 followers as with none.  Nobody is told of their own action, of a banned user's action,
or of a kind they turned off (a ``user_preference`` row ``mute:<kind>``).
A notification names its subject by foreign key (model, image, comment), so
it goes when its subject goes; ``withdraw`` removes the one an undone action
(unlike, unfollow) caused.  Reading, grouping and marking read:
``community.notifications``.
"""

from __future__ import annotations

from typing import Iterable

from peewee import SQL, CharField, DateTimeField, ForeignKeyField, TextField, Value

from core.periodic import Periodic
from core.store import BaseModel, Store, utcnow
from core.tables import AiModel, Comment, Follow, Image, User, UserPreference

FANOUT_INTERVAL_S = 0.2  # how often each app process looks for publications whose followers are yet to be told
FANOUT_BATCH = 20  # publications told per look (the rest at the next one)

COMMENT = "comment"  # someone commented on your model or image
REPLY = "reply"  # someone answered your comment
MENTION = "mention"  # someone wrote @you in a comment
LIKE = "like"  # someone liked your model or image
FOLLOW = "follow"  # someone followed you
REVIEW = "review"  # someone reviewed your model
NEW_MODEL = "new_model"  # a creator you follow published a model
NEW_IMAGE = "new_image"  # a creator you follow published pictures
REPORT_HANDLED = "report_handled"  # a moderator decided on your report
REMOVED = "removed"  # your content was hidden or removed (the reason in ``detail``)
KINDS = (COMMENT, REPLY, MENTION, LIKE, FOLLOW, REVIEW, NEW_MODEL, NEW_IMAGE, REPORT_HANDLED, REMOVED)
# Kinds a person may turn off (what moderators decide about one's own content is always told).
OPTIONAL_KINDS = (COMMENT, REPLY, MENTION, LIKE, FOLLOW, REVIEW, NEW_MODEL, NEW_IMAGE)
MUTE_PREFIX = "mute:"


class Notification(BaseModel):
    recipient = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    actor = ForeignKeyField(User, null=True, backref="+", on_delete="CASCADE")  # None: the site (a moderator)
    kind = CharField(max_length=16)
    model = ForeignKeyField(AiModel, null=True, backref="+", on_delete="CASCADE")
    image = ForeignKeyField(Image, null=True, backref="+", on_delete="CASCADE")
    comment = ForeignKeyField(Comment, null=True, backref="+", on_delete="CASCADE")
    detail = TextField(default="")  # a removal's reason and what was removed
    created_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("recipient", "read_at"), False), (("recipient", "id"), False))


class PendingFanout(BaseModel):
    """A publication whose creator's followers are yet to be told (``fanout_writer``)."""

    actor = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=16)
    model = ForeignKeyField(AiModel, null=True, backref="+", on_delete="CASCADE")
    image = ForeignKeyField(Image, null=True, backref="+", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)


NOTIFICATION_MODELS = [Notification, PendingFanout]


def create_notifications(db) -> None:
    """The tables, with indexes on what each subject's deletion looks up (migration 15)."""
    db.create_tables(NOTIFICATION_MODELS, safe=True)
    for column in ("model_id", "image_id", "comment_id", "actor_id"):
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "notification_{column}" ON "notification" ("{column}")')


def _muted(kind: str):
    return UserPreference.select(UserPreference.user).where(UserPreference.key == MUTE_PREFIX + kind)


def _actor_may_notify(actor_id: int | None) -> bool:
    return actor_id is None or User.select().where(User.id == actor_id, User.is_banned == False).exists()  # noqa: E712


def notify(recipient_ids: Iterable[int], kind: str, actor_id: int | None = None, *, model: int | None = None,
           image: int | None = None, comment: int | None = None, detail: str = "") -> None:
    """Tell each of ``recipient_ids`` (inside the action's transaction); never the actor themself."""
    recipients = {r for r in recipient_ids if r is not None and r != actor_id}
    if not recipients or not _actor_may_notify(actor_id):
        return
    recipients -= {row.user_id for row in _muted(kind).where(UserPreference.user.in_(list(recipients)))}
    rows = [{"recipient": r, "actor": actor_id, "kind": kind, "model": model, "image": image, "comment": comment,
             "detail": detail} for r in sorted(recipients)]
    if rows:
        Notification.insert_many(rows).execute()


def notify_followers(actor_id: int, kind: str, *, model: int | None = None, image: int | None = None) -> None:
    """Have everyone who follows ``actor_id`` told (by ``fanout_writer``, moments after the action commits)."""
    if _actor_may_notify(actor_id):
        PendingFanout.create(actor=actor_id, kind=kind, model=model, image=image)


def _tell(pending: PendingFanout) -> None:
    followers = (Follow.select(Follow.follower, Value(pending.actor_id), Value(pending.kind),
                               Value(pending.model_id), Value(pending.image_id), Value(pending.created_at),
                               SQL("''"))
                 .where(Follow.followee == pending.actor_id, Follow.follower.not_in(_muted(pending.kind))))
    Notification.insert_from(followers, [Notification.recipient, Notification.actor, Notification.kind,
                                         Notification.model, Notification.image, Notification.created_at,
                                         Notification.detail]).execute()


def tell_followers(store: Store, limit: int = FANOUT_BATCH) -> int:
    """Turn pending publications into their followers' notifications, oldest first (one transaction each, one
    ``INSERT … SELECT`` however many followers); returns how many were told.  Several processes may run this at
    once: whoever deletes the pending row tells its followers, the others skip it."""
    told = 0
    for pending in list(PendingFanout.select().order_by(PendingFanout.id).limit(limit)):
        with store.write():
            if PendingFanout.delete().where(PendingFanout.id == pending.id).execute():
                _tell(pending)
                told += 1
    return told


def fanout_writer(store: Store) -> Periodic:
    """The thread of an app process that tells followers of new publications (``tell_followers``)."""
    return Periodic("notify-followers", FANOUT_INTERVAL_S, lambda: tell_followers(store) == FANOUT_BATCH,
                    "telling followers of new publications")


def withdraw(kind: str, actor_id: int, *, recipient: int | None = None, model: int | None = None,
             image: int | None = None) -> None:
    """Remove what an action now undone told (an unlike, an unfollow)."""
    query = Notification.delete().where(Notification.kind == kind, Notification.actor == actor_id,
                                        Notification.model.is_null() if model is None else Notification.model == model,
                                        Notification.image.is_null() if image is None else Notification.image == image)
    if recipient is not None:
        query = query.where(Notification.recipient == recipient)
    query.execute()
