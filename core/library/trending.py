"""Rankings within a period (Civitai's ``sort=Most Liked&period=Week``): exact, and read like all-time ones.

Every ranked item keeps one counter per kind of event and period (``model.likes_week``, …, indexed) holding its
events since that period's *watermark* (``core.events.TrendWatermark``):

* each action (a like or unlike, a comment, a download) sets its item's counters from the item's event rows
  (``core.events.recount``), inside the action's transaction and holding the item's row, as the all-time
  counters are recounted;
* a background pass (``age``, every ``AGEING_INTERVAL_S`` in each app process; processes take turns on the
  watermark's row) moves each period's watermark up to the period's start and recounts the items whose events
  it passed;
* between passes a counter may still hold a few minutes of events older than the period: a ranking reads those
  *late* events (the window between the watermark and the period's start, through the (time, item) index),
  takes as many extra items from the counter's index as there are items with late events, subtracts, and sorts.
  Every item outside that set is counted exactly, so the page is exact; it costs what an all-time page costs.

Items without an event in the period follow, newest first (their counters are 0).  ``AllTime`` uses the items'
own counters.
"""

from __future__ import annotations

import datetime as dt

from peewee import SQL, Field, NodeList, SqliteDatabase, fn

from core.events import (
    IMAGE_COMMENTS,
    IMAGE_LIKES,
    MODEL_COMMENTS,
    MODEL_DOWNLOADS,
    MODEL_LIKES,
    RANKED_PERIODS,
    WINDOWS,
    TrendWatermark,
    Window,
    events_of,
)
from core.library.model_filters import since
from core.periodic import Periodic
from core.store import Store

AGEING_INTERVAL_S = 60.0  # how often each app process looks for events that left a period
# What ranks models and pictures within a period, by sort.
MODEL_WINDOWS = {"most_liked": MODEL_LIKES, "most_downloaded": MODEL_DOWNLOADS, "most_discussed": MODEL_COMMENTS}
IMAGE_WINDOWS = {"most_liked": IMAGE_LIKES, "most_comments": IMAGE_COMMENTS}


def age(store: Store) -> int:
    """Move each period's watermark up to the period's start, recounting the items whose events it passes (one
    write per period, holding the watermark's row: another process's pass waits and finds nothing left).
    Returns how many items were recounted."""
    recounted = 0
    for period in RANKED_PERIODS:
        with store.write():
            store.lock_rows(TrendWatermark, [period])
            mark, start = TrendWatermark.get_by_id(period).since, since(period)
            if start <= mark:
                continue
            for window in WINDOWS:
                passed = {row[0] for row in window.table.select(window.item).distinct()
                          .where(window.at >= mark, window.at < start, window.item.is_null(False)).tuples()}
                store.lock_rows(window.items, passed)
                counter, correlated = window.counters[period], window.items.id
                for chunk in _chunks(sorted(passed)):
                    window.items.update({counter: events_of(window, correlated, start)}) \
                        .where(correlated.in_(chunk)).execute()
                recounted += len(passed)
            TrendWatermark.update(since=start).where(TrendWatermark.period == period).execute()
    return recounted


def ageing_writer(store: Store) -> Periodic:
    """The thread of an app process that ages the counters (``age``), first as it starts: after a pause the
    counters hold the events of the whole pause until it runs."""
    def one_pass() -> bool:
        age(store)
        return False  # nothing waits: the next pass comes at the next turn
    return Periodic("age-rankings", AGEING_INTERVAL_S, one_pass, "ageing the period rankings' counters",
                    at_start=True)


def _chunks(ids: list[int], size: int = 500):
    for first in range(0, len(ids), size):
        yield ids[first:first + size]


def _late(window: Window, mark: dt.datetime, start: dt.datetime):
    """Events still in the counters but older than the period: per item, from the (time, item) index alone.
    Grouped by ``+item`` on SQLite, which otherwise walks the item's own index to group without sorting and
    reads every event ever made instead of the window's range."""
    item = NodeList((SQL("+"), window.item), glue="") if isinstance(window.table._meta.database, SqliteDatabase) \
        else window.item
    return (window.table.select(window.item.alias("item"), fn.COUNT(SQL("*")).alias("events"))
            .where(*window.where(window.at >= mark, window.at < start)).group_by(item))


def ranked_ids(candidates, id_field: Field, window: Window, period: str, offset: int, limit: int) -> list[int]:
    """One page of ``candidates`` (a query over the items a listing shows) ordered by their events in
    ``period``, most first (ties and items without any: newest first)."""
    counter = window.counters[period]
    while True:
        mark = TrendWatermark.get_by_id(period).since
        late = _late(window, mark, since(period))
        late_counts = {item: (count, events) for item, count, events in
                       candidates.select(id_field, counter, late.c.events).join(late, on=(id_field == late.c.item))
                       .tuples()}
        top = candidates.select(id_field, counter).order_by(counter.desc(), id_field.desc()) \
            .limit(offset + limit + len(late_counts))
        counts = {item: count for item, count in top.tuples()}
        if TrendWatermark.get_by_id(period).since == mark:  # no pass moved the counters meanwhile
            break
    counts.update({item: count - events for item, (count, events) in late_counts.items()})
    return sorted(counts, key=lambda item: (counts[item], item), reverse=True)[offset:offset + limit]
