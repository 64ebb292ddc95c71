"""Comments, likes, people and the feed: thin routes over community.comments/likes/follows/search."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from community import comments, follows, likes, people
from community.comments import IMAGE, MODEL, CommentRecord, Subject
from core.accounts.accounts import UserInfo

from .deps import current_user, get_context, require_user
from .image_shapes import image_json
from .model_shapes import model_json, models_json, sample_images
from .shapes import PathId, base_url, page_json

router = APIRouter(prefix="/api/v1", tags=["social"])
Page_ = Query(1, ge=1, le=100_000)
Limit = Query(20, ge=1, le=100)


class CommentBody(BaseModel):
    body: str
    parentId: int | None = Field(None, ge=1, le=2**63 - 1)  # the comment this one answers  # noqa: N815


def comment_json(request: Request, comment: CommentRecord) -> dict:
    """A comment with what it is about: ``modelId`` (and its name and URL) or ``imageId``."""
    about = {"modelId": comment.model_id, "modelName": comment.model_name, "imageId": comment.image_id}
    if comment.model_id is not None:
        about["modelUrl"] = f"{base_url(request)}/api/v1/models/{comment.model_id}"
    return {"id": comment.id, "body": comment.body, "username": comment.username, **about,
            "createdAt": comment.created_at, "parentId": comment.parent_id, "mentions": list(comment.mentions),
            "replies": [comment_json(request, reply) for reply in comment.replies]}


def _listing(request: Request, subject: Subject, page: int, limit: int, cursor: str | None,
             user: UserInfo | None) -> dict:
    result = comments.comments_on(user, subject, page, limit, cursor)
    return page_json(request, result, [comment_json(request, c) for c in result.items])


@router.get("/models/{model_id}/comments")
def list_comments(model_id: PathId, request: Request, page: int = Page_, limit: int = Limit, cursor: str | None = None,
                  user: UserInfo | None = Depends(current_user)) -> dict:
    return _listing(request, Subject(MODEL, model_id), page, limit, cursor, user)


@router.post("/models/{model_id}/comments", status_code=201)
def post_comment(model_id: PathId, body: CommentBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return comment_json(request, comments.comment_on(get_context(request).store, user, Subject(MODEL, model_id),
                                                     body.body, body.parentId))


@router.get("/images/{image_id}/comments")
def list_image_comments(image_id: PathId, request: Request, page: int = Page_, limit: int = Limit,
                        cursor: str | None = None, user: UserInfo | None = Depends(current_user)) -> dict:
    """The comments on a published image, newest first."""
    return _listing(request, Subject(IMAGE, image_id), page, limit, cursor, user)


@router.post("/images/{image_id}/comments", status_code=201)
def post_image_comment(image_id: PathId, body: CommentBody, request: Request,
                       user: UserInfo = Depends(require_user)) -> dict:
    """Comment on a published image."""
    return comment_json(request, comments.comment_on(get_context(request).store, user, Subject(IMAGE, image_id),
                                                     body.body, body.parentId))


@router.delete("/comments/{comment_id}")
def delete_comment(comment_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    comments.delete_comment(get_context(request).store, user, comment_id)
    return {"deleted": True, "id": comment_id}


@router.get("/users/{username}/comments")
def user_comments(username: str, request: Request, page: int = Page_, limit: int = Limit, cursor: str | None = None,
                  user: UserInfo | None = Depends(current_user)) -> dict:
    result = comments.user_comments(user, username, page, limit, cursor)
    return page_json(request, result, [comment_json(request, c) for c in result.items])


@router.get("/models/{model_id}/like")
def model_like(model_id: PathId, user: UserInfo | None = Depends(current_user)) -> dict:
    return likes.model_like(user, model_id).as_dict()


@router.put("/models/{model_id}/like")
def like_model(model_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return likes.set_model_like(get_context(request).store, user, model_id, True).as_dict()


@router.delete("/models/{model_id}/like")
def unlike_model(model_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return likes.set_model_like(get_context(request).store, user, model_id, False).as_dict()


@router.get("/images/{image_id}/like")
def image_like(image_id: PathId, user: UserInfo | None = Depends(current_user)) -> dict:
    return likes.image_like(user, image_id).as_dict()


@router.put("/images/{image_id}/like")
def like_image(image_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return likes.set_image_like(get_context(request).store, user, image_id, True).as_dict()


@router.delete("/images/{image_id}/like")
def unlike_image(image_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return likes.set_image_like(get_context(request).store, user, image_id, False).as_dict()


@router.get("/creators")
def creators(request: Request, query: str = Query("", max_length=500), page: int = Page_,
             limit: int = Query(20, ge=0, le=200)) -> dict:
    """Users ranked by how well their name (then bio) matches ``query``, everyone without one (Civitai's creators
    listing; ``limit=0`` is the default page size, as Civitai's)."""
    result = people.search_users(query, page, limit) if query.strip() else people.everyone(page, limit)
    counts = follows.public_model_counts([u.id for u in result.items])
    return page_json(request, result, [
        {"username": u.username, "bio": u.bio, "createdAt": u.created_at, "modelCount": counts.get(u.id, 0),
         "image": None, "link": f"{base_url(request)}/api/v1/models?username={u.username}"} for u in result.items])


@router.get("/users/{username}")
def profile(username: str, request: Request, user: UserInfo | None = Depends(current_user)) -> dict:
    found = follows.profile(user, username)
    return {"id": found.user.id, "username": found.user.username, "bio": found.user.bio,
            "isAdmin": found.user.is_admin, "createdAt": found.user.created_at, "isFollowing": found.is_following,
            "stats": {"followerCount": found.followers, "followingCount": found.following,
                      "modelCount": found.model_count, "imageCount": found.image_count},
            "models": models_json(request, user, list(found.models)),
            "images": [image_json(request, i) for i in found.images]}


@router.put("/users/{username}/follow")
def follow(username: str, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return follows.set_following(get_context(request).store, user, username, True).as_dict()


@router.delete("/users/{username}/follow")
def unfollow(username: str, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return follows.set_following(get_context(request).store, user, username, False).as_dict()


@router.get("/feed")
def feed(request: Request, page: int = Page_, limit: int = Limit, cursor: str | None = None,
         user: UserInfo = Depends(require_user)) -> dict:
    result = follows.feed(user, page, limit, cursor)
    images = sample_images(user, [item.model for item in result.items if item.model])
    return page_json(request, result, [
        {"kind": item.kind, "createdAt": item.created_at,
         "model": model_json(request, item.model, images) if item.model else None,
         "image": image_json(request, item.image) if item.image else None} for item in result.items])
