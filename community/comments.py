"""Comments on models and on published images: post, list, delete, and a user's own comments.

A comment is stored exactly as typed (stripped); showing it as escaped text or
sanitized Markdown is the UI's job.  A comment may answer another on the same
item (one level, as Civitai: an answer to an answer joins the first one's
thread); its ``@username`` mentions of existing, non-banned users are listed
in ``mentions``.  Commenting tells the item's owner, the answered comment's
author and the people mentioned (``core.notifications``), each once.  The commented item's ``comment_count`` is
set from a count of the rows inside the same write transaction, so it is always
exact.  A comment belongs to one model or one image (``Subject``); whoever may
see that item may read its comments, and a member may comment on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from peewee import JOIN, fn

from core import events, notifications
from core.accounts.accounts import UserInfo, find_user, record_admin_action, username_key
from core.errors import Forbidden, InvalidInput, NotFound
from core.library.library import get_model_row, visible_models
from core.library.library_edit import require_login
from core.paging import Page, paginate
from core.store import Store, iso
from core.tables import AiModel, Comment, Image, User

MAX_COMMENT_CHARS = 5000
MAX_MENTIONS = 10  # people one comment may notify by name
MODEL, IMAGE = "model", "image"
# ``@name`` not inside a word or an address (``bob@example``): a username's characters (core.accounts).
MENTION = re.compile(r"(?<![A-Za-z0-9_@-])@([A-Za-z0-9_-]{3,32})(?![A-Za-z0-9_-])")


@dataclass(frozen=True)
class Subject:
    """What a comment is about: a model or an image, by id."""

    kind: str  # MODEL or IMAGE
    id: int


@dataclass(frozen=True)
class CommentRecord:
    id: int
    body: str
    user_id: int
    username: str
    model_id: int | None  # the model it is about, or None for a comment on an image
    model_name: str | None
    image_id: int | None  # the image it is about, or None for a comment on a model
    created_at: str
    parent_id: int | None = None  # the comment this one answers
    mentions: tuple[str, ...] = ()  # the people its ``@name``s name, as their names are spelled
    replies: tuple["CommentRecord", ...] = ()  # answers, oldest first (on a listing's top-level comments)

    @property
    def subject(self) -> Subject:
        return Subject(MODEL, self.model_id) if self.model_id is not None else Subject(IMAGE, self.image_id)


def mentioned_names(body: str) -> list[str]:
    """The ``@name``s a text holds, first to last, each once (as written)."""
    return list(dict.fromkeys(MENTION.findall(body)))[:MAX_MENTIONS]


def _mentioned_users(bodies: list[str]) -> dict[str, User]:
    """The existing, non-banned users that ``bodies`` mention, by username key."""
    keys = {username_key(name) for body in bodies for name in mentioned_names(body)}
    if not keys:
        return {}
    rows = User.select(User.id, User.username, User.username_key).where(
        User.username_key.in_(list(keys)), User.is_banned == False)  # noqa: E712
    return {row.username_key: row for row in rows}


def _mentions(body: str, users: dict[str, User]) -> tuple[str, ...]:
    found = (users.get(username_key(name)) for name in mentioned_names(body))
    return tuple(dict.fromkeys(user.username for user in found if user is not None))


def _records(rows: list[Comment], replies: dict[int, tuple[CommentRecord, ...]] | None = None) \
        -> list[CommentRecord]:
    users = _mentioned_users([row.body for row in rows])
    return [CommentRecord(row.id, row.body, row.user_id, row.user.username, row.model_id,
                          row.model.name if row.model_id is not None else None, row.image_id,
                          iso(row.created_at), row.parent_id, _mentions(row.body, users),
                          (replies or {}).get(row.id, ())) for row in rows]


def _shown_to(actor: UserInfo | None):
    """The comments the actor sees: all but the hidden ones, which only their author and the moderators see."""
    if actor is not None and actor.can_moderate:
        return Comment.id.is_null(False)
    shown = Comment.hidden == False  # noqa: E712
    return shown | (Comment.user == actor.id) if actor is not None else shown


def _with_replies(actor: UserInfo | None):
    def with_replies(rows: list[Comment]) -> list[CommentRecord]:
        return _threads(actor, rows)
    return with_replies


def _threads(actor: UserInfo | None, rows: list[Comment]) -> list[CommentRecord]:
    """Top-level comments, each with its answers (oldest first)."""
    answers = list(_with_names().where(Comment.parent.in_([row.id for row in rows]), _shown_to(actor))
                   .order_by(Comment.created_at, Comment.id)) if rows else []
    threads: dict[int, list[CommentRecord]] = {}
    for answer in _records(answers):
        threads.setdefault(answer.parent_id, []).append(answer)
    return _records(rows, {parent: tuple(items) for parent, items in threads.items()})


def _with_names():
    return (Comment.select(Comment, User.id, User.username, AiModel.id, AiModel.name)
            .join(User).switch(Comment).join(AiModel, JOIN.LEFT_OUTER))


def _newest_first(query):
    return query.order_by(Comment.created_at.desc(), Comment.id.desc())


def check_body(body: str) -> str:
    text = body.strip() if isinstance(body, str) else ""
    if not text.strip():
        raise InvalidInput("write something first: the comment is empty")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"a comment can be at most {MAX_COMMENT_CHARS} characters; this one has {len(text)}")
    return text


def _published_images():
    return Image.select(Image.id).where(Image.published == True)  # noqa: E712


def _column(subject: Subject):
    return Comment.model if subject.kind == MODEL else Comment.image


def _check_visible(actor: UserInfo | None, subject: Subject) -> None:
    """NotFound unless ``actor`` may see the commented item (and, for an image, it is published)."""
    if subject.kind == MODEL:
        get_model_row(actor, subject.id)
    elif not _published_images().where(Image.id == subject.id).exists():  # everyone sees a published image
        raise NotFound(f"no published image with id {subject.id}")


def _table(subject: Subject):
    return AiModel if subject.kind == MODEL else Image


def _hold(store: Store, subject: Subject) -> None:
    """First in a write that recounts: the item's row is held, so writers from any process take turns (taken
    before the comment row, whose foreign key would otherwise share-lock the item first and deadlock)."""
    store.lock_row(_table(subject), subject.id)


def _recount(subject: Subject) -> None:
    """The item's comment counts, all-time and per period, from its shown comments."""
    table = _table(subject)
    count = Comment.select(fn.COUNT(Comment.id)).where(_column(subject) == subject.id, Comment.hidden == False)  # noqa: E712
    table.update(comment_count=count).where(table.id == subject.id).execute()
    events.recount(events.MODEL_COMMENTS if subject.kind == MODEL else events.IMAGE_COMMENTS, subject.id)


def _thread_of(subject: Subject, reply_to: int | None) -> Comment | None:
    """The top-level comment an answer joins (an answer to an answer joins its thread)."""
    if reply_to is None:
        return None
    parent = Comment.get_or_none(Comment.id == reply_to, _column(subject) == subject.id)
    if parent is None:
        raise NotFound(f"no comment with id {reply_to} on this {subject.kind} to answer")
    return Comment.get_by_id(parent.parent_id) if parent.parent_id is not None else parent


def _notify(actor: UserInfo, subject: Subject, row: Comment, answered: Comment | None) -> None:
    """The item's owner, the answered author and the mentioned people: each told once, the most specific way."""
    owner = _table(subject).get_by_id(subject.id).owner_id
    told = {owner: notifications.COMMENT}
    told.update({user.id: notifications.MENTION for user in _mentioned_users([row.body]).values()})
    if answered is not None:
        told[answered.user_id] = notifications.REPLY
    for kind in (notifications.COMMENT, notifications.MENTION, notifications.REPLY):
        notifications.notify([user for user, told_as in told.items() if told_as == kind], kind, actor.id,
                             comment=row.id, **{subject.kind: subject.id})


def recount(comment: Comment) -> None:
    """Set the commented item's count again (after a comment was hidden), inside the caller's write."""
    _recount(Subject(MODEL, comment.model_id) if comment.model_id is not None else Subject(IMAGE, comment.image_id))


def comment_on(store: Store, actor: UserInfo | None, subject: Subject, body: str,
               reply_to: int | None = None) -> CommentRecord:
    """Comment on a model, or a published image, that the actor can see (answering ``reply_to``, a comment on
    the same item)."""
    actor = require_login(actor)
    text = check_body(body)
    with store.write():
        _hold(store, subject)
        _check_visible(actor, subject)
        answered = _thread_of(subject, reply_to)
        row = Comment.create(user=actor.id, body=text, parent=answered.id if answered else None,
                             **{subject.kind: subject.id})
        _recount(subject)
        _notify(actor, subject, row, answered)
    return get_comment(row.id)


def get_comment(comment_id: int) -> CommentRecord:
    rows = list(_with_names().where(Comment.id == comment_id))
    if not rows:
        raise NotFound(f"no comment with id {comment_id}")
    return _records(rows)[0]


def visible_comment(actor: UserInfo | None, comment_id: int) -> CommentRecord:
    """A comment the actor may see, on an item they may see (NotFound for any other)."""
    if not Comment.select().where(Comment.id == comment_id, _shown_to(actor)).exists():
        raise NotFound(f"no comment with id {comment_id}")
    comment = get_comment(comment_id)
    _check_visible(actor, comment.subject)
    return comment


def comments_on(actor: UserInfo | None, subject: Subject, page: int = 1, limit: int = 20,
                cursor: str | None = None) -> Page:
    """The comments on a model or an image the actor can see, newest first, each with its answers: a Page of
    CommentRecord."""
    _check_visible(actor, subject)
    top_level = _with_names().where(_column(subject) == subject.id, Comment.parent.is_null(), _shown_to(actor))
    return paginate(_newest_first(top_level), page, limit, _with_replies(actor), cursor)


def user_comments(actor: UserInfo | None, username: str, page: int = 1, limit: int = 20,
                  cursor: str | None = None) -> Page:
    """A user's comments on the models and published images the actor can see, newest first."""
    author = find_user(username)
    if author is None:
        raise NotFound(f"no user named {username!r}")
    seen = Comment.model.in_(visible_models(actor).select(AiModel.id)) | Comment.image.in_(_published_images())
    return paginate(_newest_first(_with_names().where(Comment.user == author.id, seen, _shown_to(actor))), page,
                    limit, _records, cursor)


def delete_comment(store: Store, actor: UserInfo | None, comment_id: int) -> None:
    """Delete one's own comment; an admin may delete any (audit-logged)."""
    actor = require_login(actor)
    comment = Comment.get_or_none(Comment.id == comment_id)
    if comment is None:
        raise NotFound(f"no comment with id {comment_id}")
    subject = Subject(MODEL, comment.model_id) if comment.model_id is not None else Subject(IMAGE, comment.image_id)
    _check_visible(actor, subject)
    if not (actor.can_moderate or actor.id == comment.user_id):
        raise Forbidden("only the comment's author or a moderator can delete it")
    with store.write():
        _hold(store, subject)
        deleted = Comment.delete().where(Comment.id == comment_id).execute()
        _recount(subject)
        if deleted and actor.id != comment.user_id:
            record_admin_action(actor, "delete_comment", f"comment:{comment_id}:{subject.kind}:{subject.id}")
