"""Comments on models: post, list, delete, and a user's own comments.

A comment is stored exactly as typed (stripped); showing it as escaped text or
sanitized Markdown is the UI's job.  The model's ``comment_count`` is set from
a count of the rows inside the same write transaction, so it is always exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import fn

from core.accounts.accounts import UserInfo, find_user, record_admin_action
from core.errors import Forbidden, InvalidInput, NotFound
from core.library.library import get_model_row, visible_models
from core.library.library_edit import require_login
from core.paging import Page, paginate
from core.store import AiModel, Comment, Store, User, iso

MAX_COMMENT_CHARS = 5000


@dataclass(frozen=True)
class CommentRecord:
    id: int
    body: str
    user_id: int
    username: str
    model_id: int
    model_name: str
    created_at: str


def _records(rows: list[Comment]) -> list[CommentRecord]:
    return [CommentRecord(row.id, row.body, row.user_id, row.user.username, row.model_id, row.model.name,
                          iso(row.created_at)) for row in rows]


def _with_names():
    return (Comment.select(Comment, User.id, User.username, AiModel.id, AiModel.name)
            .join(User).switch(Comment).join(AiModel))


def _newest_first(query):
    return query.order_by(Comment.created_at.desc(), Comment.id.desc())


def check_body(body: str) -> str:
    text = body.strip() if isinstance(body, str) else ""
    if not text.strip():
        raise InvalidInput("write something first: the comment is empty")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"a comment can be at most {MAX_COMMENT_CHARS} characters; this one has {len(text)}")
    return text


def _recount(model_id: int) -> None:
    count = Comment.select(fn.COUNT(Comment.id)).where(Comment.model == model_id)
    AiModel.update(comment_count=count).where(AiModel.id == model_id).execute()


def post_comment(store: Store, actor: UserInfo | None, model_id: int, body: str) -> CommentRecord:
    """Comment on a model the actor can see."""
    actor = require_login(actor)
    text = check_body(body)
    with store.write():
        get_model_row(actor, model_id)
        row = Comment.create(model=model_id, user=actor.id, body=text)
        _recount(model_id)
    return get_comment(row.id)


def get_comment(comment_id: int) -> CommentRecord:
    rows = list(_with_names().where(Comment.id == comment_id))
    if not rows:
        raise NotFound(f"no comment with id {comment_id}")
    return _records(rows)[0]


def list_comments(actor: UserInfo | None, model_id: int, page: int = 1, limit: int = 20,
                  cursor: str | None = None) -> Page:
    """A model's comments, newest first: a Page of CommentRecord."""
    get_model_row(actor, model_id)
    return paginate(_newest_first(_with_names().where(Comment.model == model_id)), page, limit, _records, cursor)


def user_comments(actor: UserInfo | None, username: str, page: int = 1, limit: int = 20,
                  cursor: str | None = None) -> Page:
    """A user's comments on the models the actor can see, newest first, with each model's id and name."""
    author = find_user(username)
    if author is None:
        raise NotFound(f"no user named {username!r}")
    query = _with_names().where(Comment.user == author.id,
                                Comment.model.in_(visible_models(actor).select(AiModel.id)))
    return paginate(_newest_first(query), page, limit, _records, cursor)


def delete_comment(store: Store, actor: UserInfo | None, comment_id: int) -> None:
    """Delete one's own comment; an admin may delete any (audit-logged)."""
    actor = require_login(actor)
    comment = Comment.get_or_none(Comment.id == comment_id)
    if comment is None:
        raise NotFound(f"no comment with id {comment_id}")
    get_model_row(actor, comment.model_id)
    if not (actor.is_admin or actor.id == comment.user_id):
        raise Forbidden("only the comment's author or an admin can delete it")
    with store.write():
        deleted = Comment.delete().where(Comment.id == comment_id).execute()
        _recount(comment.model_id)
        if deleted and actor.id != comment.user_id:
            record_admin_action(actor, "delete_comment", f"comment:{comment_id}:model:{comment.model_id}")
