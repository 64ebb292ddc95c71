"""Timestamped events that rankings count over a period (Civitai's ``period=Day|Week|Month|Year``): downloads
here; likes and comments are timestamped rows of their own (``model_like``, ``image_like``, ``comment``).  Each
is written in the transaction of the action, so a period's counts are exact (``core.library.trending``)."""

from __future__ import annotations

from peewee import DateTimeField, ForeignKeyField

from core.store import AiModel, BaseModel, ModelVersion, utcnow


class DownloadEvent(BaseModel):
    model = ForeignKeyField(AiModel, backref="+", on_delete="CASCADE")
    version = ForeignKeyField(ModelVersion, backref="+", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)


EVENT_MODELS = [DownloadEvent]
# (table, time column, item column): each period ranking reads a window of one of these by time.
WINDOW_INDEXES = (("download_event", "at", "model_id"), ("model_like", "created_at", "model_id"),
                  ("image_like", "created_at", "image_id"), ("comment", "created_at", "model_id"),
                  ("comment", "created_at", "image_id"))


def create_events(db) -> None:
    """The download events, and an index per window a ranking reads (time, then the item: the window's rows
    are counted from the index alone) (migration 20)."""
    db.create_tables(EVENT_MODELS, safe=True)
    db.execute_sql('CREATE INDEX IF NOT EXISTS "download_event_model_id" ON "download_event" ("model_id")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "download_event_version_id" ON "download_event" ("version_id")')
    for table, time_column, item in WINDOW_INDEXES:
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_{time_column}_{item}" ON "{table}" '
                       f'("{time_column}", "{item}")')
