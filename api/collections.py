"""Collections: a person's named lists of models and pictures (``GET/POST /api/v1/collections``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from community import collections
from community.collections import CollectionRecord
from core.accounts.accounts import UserInfo

from .deps import current_user, get_context, require_user
from .image_shapes import image_json
from .model_shapes import models_json
from .shapes import DB_INT, PathId, page_json

router = APIRouter(prefix="/api/v1/collections", tags=["collections"])


class NewCollection(BaseModel):
    name: str = Field(max_length=1000)
    description: str = Field("", max_length=20_000)
    visibility: str = Field("public", max_length=16)


class ItemBody(BaseModel):
    modelId: int | None = Field(None, **DB_INT)  # noqa: N815
    imageId: int | None = Field(None, **DB_INT)  # noqa: N815


def _full_json(request: Request, user: UserInfo | None, record: CollectionRecord) -> dict:
    return {**record.as_dict(), "models": models_json(request, user, list(record.models)),
            "images": [image_json(request, image) for image in record.images]}


@router.get("")
def listing(request: Request, username: str = Query(max_length=64), page: int = Query(1, ge=1, le=100_000),
            limit: int = Query(20, ge=1, le=100), cursor: str | None = None,
            user: UserInfo | None = Depends(current_user)) -> dict:
    """A person's collections (their own private ones too), last changed first."""
    result = collections.collections_of(user, username, page, limit, cursor)
    return page_json(request, result, [record.as_dict() for record in result.items])


@router.post("", status_code=201)
def create(body: NewCollection, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return collections.create_collection(get_context(request).store, user, body.name, body.description,
                                         body.visibility).as_dict()


@router.get("/{collection_id}")
def one(collection_id: PathId, request: Request, user: UserInfo | None = Depends(current_user)) -> dict:
    """A collection with the newest items the caller may see."""
    return _full_json(request, user, collections.get_collection(user, collection_id))


@router.post("/{collection_id}/items")
def add(collection_id: PathId, body: ItemBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    return collections.add_item(get_context(request).store, user, collection_id, body.modelId,
                                body.imageId).as_dict()


@router.delete("/{collection_id}/items")
def remove(collection_id: PathId, request: Request, modelId: int | None = Query(None, **DB_INT),  # noqa: N803
           imageId: int | None = Query(None, **DB_INT), user: UserInfo = Depends(require_user)) -> dict:  # noqa: N803
    return collections.remove_item(get_context(request).store, user, collection_id, modelId, imageId).as_dict()


@router.delete("/{collection_id}")
def delete(collection_id: PathId, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    collections.delete_collection(get_context(request).store, user, collection_id)
    return {"deleted": True, "id": collection_id}
