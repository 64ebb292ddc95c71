"""Reviews of model versions: recommend or not, with optional details (one per person per version)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, StrictBool

from community import reviews
from core.accounts.accounts import UserInfo

from .deps import current_user, get_context, require_user
from .shapes import DB_INT, PathId, page_json

router = APIRouter(prefix="/api/v1", tags=["reviews"])


class ReviewBody(BaseModel):
    recommended: StrictBool
    details: str = Field("", max_length=20_000)


@router.get("/models/{model_id}/reviews")
def model_reviews(model_id: PathId, request: Request, modelVersionId: int | None = Query(None, **DB_INT),  # noqa: N803
                  page: int = Query(1, ge=1, le=100_000), limit: int = Query(20, ge=1, le=100),
                  cursor: str | None = None, user: UserInfo | None = Depends(current_user)) -> dict:
    """A model's reviews, newest first (of one version with ``modelVersionId``)."""
    result = reviews.reviews_of(user, model_id, modelVersionId, page, limit, cursor)
    return page_json(request, result, [review.as_dict() for review in result.items])


@router.post("/model-versions/{version_id}/reviews")
def review_version(version_id: PathId, body: ReviewBody, request: Request,
                   user: UserInfo = Depends(require_user)) -> dict:
    """Review a version; a second review by the same person replaces the first."""
    return reviews.review(get_context(request).store, user, version_id, body.recommended, body.details).as_dict()


@router.delete("/reviews/{review_id}")
def delete_review(review_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    reviews.delete_review(get_context(request).store, user, review_id)
    return {"deleted": True, "id": review_id}
