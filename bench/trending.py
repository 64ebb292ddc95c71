"""10. Trending: the models listing ranked by the period's likes (``sort=Most Liked&period=Day|Week|Month|Year``) at
100k models and 1M like events, p95, vs the same listing over all time (the models' own like counters, indexed).

In process, against a SQLite store built by ``bench.search_data`` (100k models) plus 1M likes by 20k people,
spread over the last year, models drawn Zipf-like (a few very popular, most rarely liked); the like counters, all
time and per period, are set from the rows (``core.events.recount_all``).  Each sample is one page (pages 1–3, 20 models) of ``core.library.library.list_models`` as a
visitor sees it: the ranked ids, the total, and the records.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Iterator

from bench.common import Row, Workspace, p95, timed
from bench.search_data import LibrarySizes, build_library, insert_rows

TARGET_MS = 20.0
PERIODS = ("Day", "Week", "Month", "Year")


@dataclass(frozen=True)
class Sizes:
    library: LibrarySizes
    likes: int
    samples: int  # per period and page


FULL = Sizes(LibrarySizes(users=20_000, models=100_000, images=0), likes=1_000_000, samples=15)
QUICK = Sizes(LibrarySizes(users=300, models=300, images=0), likes=3_000, samples=2)


def like_rows(sizes: Sizes, first_user: int, first_model: int) -> Iterator[dict]:
    """``sizes.likes`` distinct (person, model) likes, popular models liked far more, over the last year."""
    rng = random.Random(7)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    seen: set[tuple[int, int]] = set()
    models = sizes.library.models
    while len(seen) < sizes.likes:
        pair = (first_user + rng.randrange(sizes.library.users),
                first_model + min(int(rng.paretovariate(0.6)) - 1, models - 1) if rng.random() < 0.5
                else first_model + rng.randrange(models))
        if pair in seen:
            continue
        seen.add(pair)
        yield {"user": pair[0], "model": pair[1], "created_at": now - dt.timedelta(seconds=rng.randrange(365 * 86400))}


def build(store, sizes: Sizes) -> None:
    from core.events import recount_all
    from core.tables import AiModel, ModelLike, User

    first_user = (User.select(User.id).order_by(User.id.desc()).scalar() or 0) + 1
    first_model = (AiModel.select(AiModel.id).order_by(AiModel.id.desc()).scalar() or 0) + 1
    build_library(store.db, sizes.library)
    insert_rows(store.db, ModelLike, like_rows(sizes, first_user, first_model))
    store.db.execute_sql('UPDATE model SET like_count = (SELECT COUNT(*) FROM model_like WHERE model_id = model.id)')
    recount_all()  # the period counters, as after a bulk import
    store.db.execute_sql("ANALYZE")


def sample(period: str, page: int) -> float:
    from core.library.library import ModelQuery, list_models
    from core.library.model_filters import ModelFilters

    query = ModelQuery(sort="most_liked", page=page, limit=20, filters=ModelFilters(period=period))
    return timed(lambda: list_models(None, query)) * 1000


def run(ws: Workspace) -> list[Row]:
    from core.migrations import open_store

    sizes = QUICK if ws.quick else FULL
    store = open_store(str(ws.path("trending") / "trending.db"))
    try:
        build(store, sizes)
        for period in (*PERIODS, "AllTime"):  # warm-up: first-query costs, page cache
            sample(period, 1)
        times: dict[str, list[float]] = {period: [] for period in (*PERIODS, "AllTime")}
        for _ in range(sizes.samples):
            for page in (1, 2, 3):
                for period in times:
                    times[period].append(sample(period, page))
    finally:
        store.close()
    baseline = p95(times["AllTime"])
    return [Row(f"10 trending: Most Liked, period={period}, {sizes.library.models:,} models / {sizes.likes:,} "
                f"likes, p95 of a page (vs AllTime's counters)", p95(times[period]), baseline, "ms",
                f"≤ {TARGET_MS:g} ms", p95(times[period]) <= TARGET_MS,
                detail={"samples": len(times[period])}) for period in PERIODS]
