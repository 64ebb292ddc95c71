"""The tables of collections: named lists of models and pictures that a person keeps (public or private), and
their items.  ``item_count`` is set from the rows inside each writing transaction (``community.collections``)."""

from __future__ import annotations

from peewee import SQL, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from core.store import BaseModel, utcnow
from core.tables import AiModel, Image, User


class Collection(BaseModel):
    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    name = CharField(max_length=100)
    description = TextField(default="")
    visibility = CharField(max_length=8, default="public")  # public or private
    item_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("owner", "updated_at"), False),)


class CollectionItem(BaseModel):
    """One model or one picture in a collection (exactly one of the two is set)."""

    collection = ForeignKeyField(Collection, backref="items", on_delete="CASCADE")
    model = ForeignKeyField(AiModel, null=True, backref="+", on_delete="CASCADE")
    image = ForeignKeyField(Image, null=True, backref="+", on_delete="CASCADE")
    added_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("collection", "model"), True), (("collection", "image"), True))


COLLECTION_MODELS = [Collection, CollectionItem]


def create_collections(db) -> None:
    """The tables, and indexes on what a model's or picture's deletion looks up (migration 19)."""
    db.create_tables(COLLECTION_MODELS, safe=True)
    for column in ("model_id", "image_id"):
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "collection_item_{column}" ON "collection_item" ("{column}")')
