"""Timestamped events that rankings count over a period (Civitai's ``period=Day|Week|Month|Year``): downloads
here; likes and comments are timestamped rows of their own (``model_like``, ``image_like``, ``comment``).  Each
is written in the transaction of the action, so a period's counts are exact (``core.library.trending``).

Each ranked item keeps a counter per kind of event and period (``model.likes_week``, …): its events since the
period's watermark (``TrendWatermark``).  ``recount`` sets an item's counters from its rows; every action that
adds or removes an event calls it inside its transaction, holding the item's row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

from peewee import SQL, CharField, DateTimeField, Expression, Field, ForeignKeyField, Model, fn

from core.store import BaseModel, utcnow
from core.tables import AiModel, Comment, Image, ImageLike, ModelLike, ModelVersion


class DownloadEvent(BaseModel):
    model = ForeignKeyField(AiModel, backref="+", on_delete="CASCADE")
    version = ForeignKeyField(ModelVersion, backref="+", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)


class TrendWatermark(BaseModel):
    """Where a period's counters start: every ``<kind>_<period>`` counts its item's events at or after ``since``
    (moved up to the period's start by ``core.library.trending.age``)."""

    period = CharField(max_length=8, primary_key=True)
    since = DateTimeField()

    class Meta:
        table_name = "trend_watermark"


EVENT_MODELS = [DownloadEvent, TrendWatermark]
# Civitai's periods and their days (None: all time).
PERIODS = {"AllTime": None, "Year": 365, "Month": 30, "Week": 7, "Day": 1}
RANKED_PERIODS = tuple(period for period, days in PERIODS.items() if days is not None)


def period_start(period: str) -> dt.datetime | None:
    """The earliest moment ``period`` reaches back to from now (None: all time)."""
    days = PERIODS[period]
    return None if days is None else utcnow() - dt.timedelta(days=days)


@dataclass(frozen=True)
class Window:
    """Events a ranking counts: their table, their time, the item they are about, and the item's counter of
    each period's events (``counts``: which rows count, e.g. comments not hidden)."""

    table: type[Model]
    at: Field
    item: Field
    counters: Mapping[str, Field]
    counts: Expression | None = None

    @property
    def items(self) -> type[Model]:
        return self.item.rel_model

    def where(self, *conditions):
        return tuple(conditions) + (() if self.counts is None else (self.counts,))


def _counters(table: type[Model], kind: str) -> dict[str, Field]:
    return {period: getattr(table, f"{kind}_{period.lower()}") for period in RANKED_PERIODS}


_SHOWN_COMMENTS = Comment.hidden == False  # noqa: E712  (hidden comments count nowhere)
MODEL_LIKES = Window(ModelLike, ModelLike.created_at, ModelLike.model, _counters(AiModel, "likes"))
MODEL_DOWNLOADS = Window(DownloadEvent, DownloadEvent.at, DownloadEvent.model, _counters(AiModel, "downloads"))
MODEL_COMMENTS = Window(Comment, Comment.created_at, Comment.model, _counters(AiModel, "comments"), _SHOWN_COMMENTS)
IMAGE_LIKES = Window(ImageLike, ImageLike.created_at, ImageLike.image, _counters(Image, "likes"))
IMAGE_COMMENTS = Window(Comment, Comment.created_at, Comment.image, _counters(Image, "comments"), _SHOWN_COMMENTS)
WINDOWS = (MODEL_LIKES, MODEL_DOWNLOADS, MODEL_COMMENTS, IMAGE_LIKES, IMAGE_COMMENTS)


def watermarks() -> dict[str, dt.datetime]:
    return {row.period: row.since for row in TrendWatermark.select()}


def events_of(window: Window, item, since_moment):
    """How many events of ``item`` (an id, or the updated row's id) happened since ``since_moment``."""
    return (window.table.select(fn.COUNT(SQL("*")))
            .where(*window.where(window.item == item, window.at >= since_moment)))


def _counters_from_events(window: Window, marks: Mapping[str, dt.datetime]):
    """An UPDATE of the items setting every period's counter from the item's own events since its watermark."""
    return window.items.update({counter: events_of(window, window.items.id, marks[period])
                                for period, counter in window.counters.items()})


def recount(window: Window, item_id: int) -> None:
    """Inside a write holding ``item_id``'s row (``Store.lock_row``): set its counters from its events."""
    _counters_from_events(window, watermarks()).where(window.items.id == item_id).execute()


def recount_all() -> None:
    """Every item's counters from its events (a new or migrated database, a bulk import)."""
    marks = watermarks()
    for window in WINDOWS:
        _counters_from_events(window, marks).execute()


# (table, time column, item column): each period ranking reads a window of one of these by time.
WINDOW_INDEXES = (("download_event", "at", "model_id"), ("model_like", "created_at", "model_id"),
                  ("image_like", "created_at", "image_id"), ("comment", "created_at", "model_id"),
                  ("comment", "created_at", "image_id"))
# (table, item column, time column): an item's events of a period, counted from the index alone.
ITEM_EVENT_INDEXES = (("download_event", "model_id", "at"), ("model_like", "model_id", "created_at"),
                      ("image_like", "image_id", "created_at"))


def _create_indexes(db, indexes) -> None:
    for table, first, second in indexes:
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_{first}_{second}" ON "{table}" ("{first}", "{second}")')


def create_events(db) -> None:
    """The download events, and an index per window a ranking reads (time, then the item: the window's rows
    are counted from the index alone) (migration 20)."""
    db.create_tables([DownloadEvent], safe=True)
    db.execute_sql('CREATE INDEX IF NOT EXISTS "download_event_model_id" ON "download_event" ("model_id")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "download_event_version_id" ON "download_event" ("version_id")')
    _create_indexes(db, WINDOW_INDEXES)


def create_watermarks(db, starts: dict) -> None:
    """The watermark table, each period's starting at ``starts[period]``, and the indexes that count an item's
    events of a period (migration 21)."""
    db.create_tables([TrendWatermark], safe=True)
    TrendWatermark.insert_many([{"period": period, "since": since} for period, since in starts.items()]) \
        .on_conflict_ignore().execute()
    _create_indexes(db, ITEM_EVENT_INDEXES)
