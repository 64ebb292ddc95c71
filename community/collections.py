"""Collections: named lists of models and pictures a person keeps, public (on their profile) or private.

Only the owner adds and removes; anything added must be something the owner can see, and a viewer sees, of a
collection, only the items they may see themselves.  Adding twice changes nothing; every change holds the
collection's row and sets ``item_count`` from the rows, so concurrent adds from any process leave it exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from peewee import fn

from community.gallery import ImageRecord, get_image_row, image_records, rated_for
from core.accounts.accounts import UserInfo, find_user
from core.collection_tables import Collection, CollectionItem
from core.errors import Forbidden, InvalidInput, NotFound
from core.library.library import get_model_row, visible_models
from core.library.library_edit import require_login
from core.library.model_records import ModelRecord, model_records
from core.paging import Page, paginate
from core.store import Store, iso, utcnow
from core.tables import VISIBILITIES, AiModel, Image, User

MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_COLLECTIONS = 500  # per person
SHOWN_ITEMS = 48


@dataclass(frozen=True)
class CollectionRecord:
    id: int
    name: str
    description: str
    visibility: str
    owner: str
    owner_id: int
    item_count: int
    created_at: str
    updated_at: str
    models: tuple[ModelRecord, ...] = ()  # on a collection's own page: what the viewer may see of it
    images: tuple[ImageRecord, ...] = ()

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "description": self.description, "visibility": self.visibility,
                "username": self.owner, "itemCount": self.item_count, "createdAt": self.created_at,
                "updatedAt": self.updated_at}


def _records(rows: list[Collection]) -> list[CollectionRecord]:
    return [CollectionRecord(row.id, row.name, row.description, row.visibility, row.owner.username, row.owner_id,
                             row.item_count, iso(row.created_at), iso(row.updated_at)) for row in rows]


def _with_owner():
    return Collection.select(Collection, User.id, User.username).join(User)


def _may_see(actor: UserInfo | None, row: Collection) -> bool:
    return row.visibility == "public" or (actor is not None and (actor.id == row.owner_id or actor.is_admin))


def _row(actor: UserInfo | None, collection_id: int) -> Collection:
    row = _with_owner().where(Collection.id == collection_id).first()
    if row is None or not _may_see(actor, row):
        raise NotFound(f"no collection with id {collection_id}")
    return row


def _check(name: str, description: str, visibility: str) -> tuple[str, str]:
    name, description = (name or "").strip(), (description or "").strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        raise InvalidInput(f"a collection's name must be 1-{MAX_NAME_CHARS} characters")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(f"a collection's description can be at most {MAX_DESCRIPTION_CHARS} characters")
    if visibility not in VISIBILITIES:
        raise InvalidInput("visibility must be public or private")
    return name, description


def create_collection(store: Store, actor: UserInfo | None, name: str, description: str = "",
                      visibility: str = "public") -> CollectionRecord:
    actor = require_login(actor)
    name, description = _check(name, description, visibility)
    with store.write():
        if Collection.select().where(Collection.owner == actor.id).count() >= MAX_COLLECTIONS:
            raise InvalidInput(f"you can keep at most {MAX_COLLECTIONS} collections")
        row = Collection.create(owner=actor.id, name=name, description=description, visibility=visibility)
    return _records([_row(actor, row.id)])[0]


def collections_of(actor: UserInfo | None, username: str, page: int = 1, limit: int = 20,
                   cursor: str | None = None) -> Page:
    """A person's collections the actor may see (their own private ones too), last changed first."""
    owner = find_user(username)
    if owner is None:
        raise NotFound(f"no user named {username!r}")
    query = _with_owner().where(Collection.owner == owner.id)
    if not (actor is not None and (actor.id == owner.id or actor.is_admin)):
        query = query.where(Collection.visibility == "public")
    return paginate(query.order_by(Collection.updated_at.desc(), Collection.id.desc()), page, limit, _records,
                    cursor)


def get_collection(actor: UserInfo | None, collection_id: int) -> CollectionRecord:
    """A collection with the newest of its items that the actor may see."""
    row = _row(actor, collection_id)
    items = CollectionItem.select().where(CollectionItem.collection == row.id)
    model_ids = items.select(CollectionItem.model).where(CollectionItem.model.is_null(False))
    image_ids = items.select(CollectionItem.image).where(CollectionItem.image.is_null(False))
    models = (visible_models(actor).where(AiModel.id.in_(model_ids)).order_by(AiModel.id.desc())
              .limit(SHOWN_ITEMS))
    images = (Image.select().where(Image.id.in_(image_ids), Image.published == True, rated_for(actor))  # noqa: E712
              .order_by(Image.id.desc()).limit(SHOWN_ITEMS))
    return replace(_records([row])[0], models=tuple(model_records(models)),
                   images=tuple(image_records(list(images), actor)))


def _owned(actor: UserInfo, collection_id: int) -> Collection:
    row = _row(actor, collection_id)
    if row.owner_id != actor.id:
        raise Forbidden("only the collection's owner can change it")
    return row


def _item(actor: UserInfo, model_id: int | None, image_id: int | None) -> dict:
    """``{"model": id}`` or ``{"image": id}`` of something the actor may see."""
    if (model_id is None) == (image_id is None):
        raise InvalidInput("name one model (modelId) or one picture (imageId)")
    if model_id is not None:
        get_model_row(actor, model_id)
        return {"model": model_id}
    if not get_image_row(actor, image_id).published:
        raise InvalidInput("publish the picture before adding it to a collection")
    return {"image": image_id}


def _recount(collection_id: int) -> None:
    count = CollectionItem.select(fn.COUNT(CollectionItem.id)).where(CollectionItem.collection == collection_id)
    Collection.update(item_count=count, updated_at=utcnow()).where(Collection.id == collection_id).execute()


def add_item(store: Store, actor: UserInfo | None, collection_id: int, model_id: int | None = None,
             image_id: int | None = None) -> CollectionRecord:
    """Add a model or a picture to one's collection (again: nothing changes)."""
    actor = require_login(actor)
    item = _item(actor, model_id, image_id)
    with store.write():
        store.lock_row(Collection, collection_id)
        _owned(actor, collection_id)
        CollectionItem.insert(collection=collection_id, **item).on_conflict_ignore().execute()
        _recount(collection_id)
    return _records([_row(actor, collection_id)])[0]


def remove_item(store: Store, actor: UserInfo | None, collection_id: int, model_id: int | None = None,
                image_id: int | None = None) -> CollectionRecord:
    actor = require_login(actor)
    if (model_id is None) == (image_id is None):
        raise InvalidInput("name one model (modelId) or one picture (imageId)")
    with store.write():
        store.lock_row(Collection, collection_id)
        _owned(actor, collection_id)
        which = CollectionItem.model == model_id if model_id is not None else CollectionItem.image == image_id
        CollectionItem.delete().where(CollectionItem.collection == collection_id, which).execute()
        _recount(collection_id)
    return _records([_row(actor, collection_id)])[0]


def delete_collection(store: Store, actor: UserInfo | None, collection_id: int) -> None:
    actor = require_login(actor)
    with store.write():
        _owned(actor, collection_id)
        Collection.delete().where(Collection.id == collection_id).execute()


def my_collections(actor: UserInfo | None) -> list[CollectionRecord]:
    """The actor's collections by name (for "Save to collection")."""
    if actor is None:
        return []
    return _records(list(_with_owner().where(Collection.owner == actor.id).order_by(Collection.name,
                                                                                     Collection.id)))
