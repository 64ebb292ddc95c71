"""Posts: what an author says about images published together — an optional title, description and tags.

A post's id is its images' ``post_id`` (the first image's id, ``community.picture_posts.publish_images``); a post
published before titles existed has no row and reads as untitled. The text is stored as typed (stripped);
showing it safely is the UI's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from core.errors import InvalidInput
from core.library.library_edit import split_list
from core.tables import Post, PostTag, Tag

MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 5000
MAX_POST_TAGS = 20
MAX_TAG_CHARS = 64


@dataclass(frozen=True)
class PostFields:
    """What the author may say about a post; all optional."""

    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()

    @classmethod
    def checked(cls, title: str | None, description: str | None, tags) -> "PostFields":
        """The fields stripped and within their limits (tags comma-separated or a list); else InvalidInput
        naming the limit."""
        title, description = (title or "").strip(), (description or "").strip()
        names = tuple(dict.fromkeys(tag.lower() for tag in (split_list(tags) or ())))
        if len(title) > MAX_TITLE_CHARS:
            raise InvalidInput(f"a post's title can be at most {MAX_TITLE_CHARS} characters; this one has {len(title)}")
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise InvalidInput(f"a post's description can be at most {MAX_DESCRIPTION_CHARS} characters; "
                               f"this one has {len(description)}")
        if len(names) > MAX_POST_TAGS or any(len(name) > MAX_TAG_CHARS for name in names):
            raise InvalidInput(f"a post can have at most {MAX_POST_TAGS} tags of up to {MAX_TAG_CHARS} characters")
        return cls(title, description, names)


@dataclass(frozen=True)
class PostRecord:
    id: int
    title: str
    description: str
    tags: tuple[str, ...]


def create_post(post_id: int, owner_id: int, fields: PostFields) -> None:
    """The post row of images just published together (call inside their write transaction)."""
    Post.create(id=post_id, owner=owner_id, title=fields.title, description=fields.description)
    for name in fields.tags:
        tag, _ = Tag.get_or_create(name=name)
        PostTag.create(post=post_id, tag=tag)


def posts_by_id(post_ids: Iterable[int | None]) -> dict[int, PostRecord]:
    """The posts with these ids that have a row (title, description, tags), by id."""
    ids = {post_id for post_id in post_ids if post_id is not None}
    if not ids:
        return {}
    tags: dict[int, list[str]] = {}
    for post_id, name in (PostTag.select(PostTag.post, Tag.name).join(Tag).where(PostTag.post.in_(ids))
                          .order_by(Tag.name).tuples()):
        tags.setdefault(post_id, []).append(name)
    return {row.id: PostRecord(row.id, row.title, row.description, tuple(tags.get(row.id, ())))
            for row in Post.select().where(Post.id.in_(ids))}
