"""Reviews of model versions: recommend or not, with an optional text, one per person per version (a second one
edits the first), as Civitai's.

Each write holds the model's row (``Store.lock_row``), then sets the version's and the model's thumbs counts from
the rows, so concurrent reviews from any process never leave them off by one.  A review tells the model's owner
(``core.notifications``); its owner cannot review their own model.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import Case, fn

from core import notifications
from core.accounts.accounts import UserInfo
from core.errors import Forbidden, InvalidInput, NotFound
from core.library.library import get_model_row
from core.library.library_edit import require_login
from core.paging import Page, paginate
from core.reviews import Review
from core.store import Store, iso, utcnow
from core.tables import AiModel, ModelVersion, User

MAX_REVIEW_CHARS = 5000


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    version_id: int
    model_id: int
    username: str
    recommended: bool
    body: str
    created_at: str
    updated_at: str

    def as_dict(self) -> dict:
        return {"id": self.id, "modelVersionId": self.version_id, "modelId": self.model_id,
                "username": self.username, "recommended": self.recommended, "details": self.body,
                "createdAt": self.created_at, "updatedAt": self.updated_at}


@dataclass(frozen=True)
class Summary:
    """Civitai's review stats: thumbs up and down, and ``rating`` (0–5, the share recommending) of ``count``."""

    thumbs_up: int
    thumbs_down: int

    @property
    def count(self) -> int:
        return self.thumbs_up + self.thumbs_down

    @property
    def rating(self) -> float:
        return round(5 * self.thumbs_up / self.count, 2) if self.count else 0

    def as_dict(self) -> dict:
        return {"thumbsUpCount": self.thumbs_up, "thumbsDownCount": self.thumbs_down, "rating": self.rating,
                "ratingCount": self.count}


def _records(rows: list[Review]) -> list[ReviewRecord]:
    return [ReviewRecord(row.id, row.version_id, row.model_id, row.user.username, bool(row.recommended), row.body,
                         iso(row.created_at), iso(row.updated_at)) for row in rows]


def _version(actor: UserInfo | None, version_id: int) -> tuple[ModelVersion, AiModel]:
    version = ModelVersion.get_or_none(ModelVersion.id == version_id)
    if version is None:
        raise NotFound(f"no model version with id {version_id}")
    return version, get_model_row(actor, version.model_id)


def _thumbs(where) -> dict:
    up = fn.COALESCE(fn.SUM(Case(None, [(Review.recommended == True, 1)], 0)), 0)  # noqa: E712
    down = fn.COALESCE(fn.SUM(Case(None, [(Review.recommended == False, 1)], 0)), 0)  # noqa: E712
    counted = Review.select(up, down).where(where).tuples().first()
    return {"thumbs_up_count": int(counted[0]), "thumbs_down_count": int(counted[1])}


def _recount(model_id: int, version_id: int) -> None:
    ModelVersion.update(**_thumbs(Review.version == version_id)).where(ModelVersion.id == version_id).execute()
    AiModel.update(**_thumbs(Review.model == model_id)).where(AiModel.id == model_id).execute()


def _check(body: str) -> str:
    text = (body or "").strip()
    if len(text) > MAX_REVIEW_CHARS:
        raise InvalidInput(f"a review can be at most {MAX_REVIEW_CHARS} characters; this one has {len(text)}")
    return text


def review(store: Store, actor: UserInfo | None, version_id: int, recommended: bool, body: str = "") \
        -> ReviewRecord:
    """Review a version of a model the actor can see; reviewing it again changes the review."""
    actor = require_login(actor)
    if not isinstance(recommended, bool):
        raise InvalidInput("recommended must be true or false")
    text = _check(body)
    version, model = _version(actor, version_id)
    if model.owner_id == actor.id:
        raise Forbidden("only other people can review a model: this one is yours")
    with store.write():
        store.lock_row(AiModel, model.id)
        get_model_row(actor, model.id)  # still there and still visible, now that it is held
        existing = Review.get_or_none(Review.version == version.id, Review.user == actor.id)
        if existing is None:
            Review.insert(version=version.id, model=model.id, user=actor.id, recommended=recommended,
                          body=text).on_conflict_ignore().execute()
            notifications.notify([model.owner_id], notifications.REVIEW, actor.id, model=model.id)
        else:
            Review.update(recommended=recommended, body=text, updated_at=utcnow()).where(
                Review.id == existing.id).execute()
        _recount(model.id, version.id)
    return my_review(actor, version.id)


def delete_review(store: Store, actor: UserInfo | None, review_id: int) -> None:
    """Delete one's own review (a moderator any)."""
    actor = require_login(actor)
    row = Review.get_or_none(Review.id == review_id)
    if row is None:
        raise NotFound(f"no review with id {review_id}")
    if not (actor.can_moderate or actor.id == row.user_id):
        raise Forbidden("only the review's author or a moderator can delete it")
    with store.write():
        store.lock_row(AiModel, row.model_id)
        Review.delete().where(Review.id == review_id).execute()
        _recount(row.model_id, row.version_id)


def reviews_of(actor: UserInfo | None, model_id: int, version_id: int | None = None, page: int = 1,
               limit: int = 20, cursor: str | None = None) -> Page:
    """The reviews of a model the actor can see (of one version, with ``version_id``), newest first."""
    get_model_row(actor, model_id)
    query = Review.select(Review, User.username).join(User).where(Review.model == model_id,
                                                                 User.is_banned == False)  # noqa: E712
    if version_id is not None:
        query = query.where(Review.version == version_id)
    return paginate(query.order_by(Review.updated_at.desc(), Review.id.desc()), page, limit, _records, cursor)


def my_review(actor: UserInfo | None, version_id: int) -> ReviewRecord | None:
    """The actor's review of a version, if they wrote one."""
    if actor is None:
        return None
    rows = list(Review.select(Review, User.username).join(User).where(Review.version == version_id,
                                                                      Review.user == actor.id))
    return _records(rows)[0] if rows else None
