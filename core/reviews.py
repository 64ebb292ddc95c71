"""The reviews table: one per person per model version, recommend or not, with an optional text (Civitai's
thumbs).  The counts are kept on the version and the model (``thumbs_up_count``, ``thumbs_down_count``) and set
from the rows inside the writing transaction (``community.reviews``), so they are always exact.
"""

from __future__ import annotations

from peewee import BooleanField, DateTimeField, ForeignKeyField, TextField

from core.store import BaseModel, utcnow
from core.tables import AiModel, ModelVersion, User


class Review(BaseModel):
    version = ForeignKeyField(ModelVersion, backref="+", on_delete="CASCADE")
    model = ForeignKeyField(AiModel, backref="+", on_delete="CASCADE")  # the version's, for the model's summary
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    recommended = BooleanField()
    body = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("version", "user"), True), (("model", "updated_at"), False))


REVIEW_MODELS = [Review]
