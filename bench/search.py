"""4. Search p95 by query class at 100k models / files / users and 1M image prompts, idle and while a
generation runs, vs a ``LIKE '%q%'`` scan of the same tables — on SQLite (FTS5) and on PostgreSQL (full
text), each beside its own ``LIKE``.

In process, against a store built by ``bench.search_data`` (the same rows on both databases; PostgreSQL is a
server of its own started for the measure, as the tests start one) and the search functions (models, files,
users ranked; images through ``ranked_ids`` over published images, as the gallery does).  The baseline answers
the same question the naive way: the total and the newest page of rows where every word is ``LIKE '%word%'``
(``ILIKE`` on PostgreSQL, case-insensitive as SQLite's ``LIKE``) in one of the columns.
"While a generation runs" is the tiny model generating back to back in the
app's generation process (``core.generation.worker``), as in the server.
"""

from __future__ import annotations

import functools
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from bench.common import Row, Workspace, p95, timed
from bench.search_data import LibrarySizes, build_library
from bench.server import GenerationLoop

PAGE = 20
SPEEDUP = 10


@dataclass(frozen=True)
class Sizes:
    library: LibrarySizes
    samples: int  # timed runs of each query, per condition
    like_samples: int  # timed LIKE scans of each query, per condition
    budget_s: float  # no new round of samples starts after this long (per condition): slow searches stay bounded
    gen_size: int
    gen_steps: int


FULL = Sizes(LibrarySizes(users=100_000, models=100_000, images=1_000_000), samples=10, like_samples=1,
             budget_s=90, gen_size=128, gen_steps=20)
QUICK = Sizes(LibrarySizes(users=300, models=300, images=3_000), samples=2, like_samples=1, budget_s=30,
              gen_size=64, gen_steps=2)

# Which tables, with the columns the LIKE scan reads, and the p95 bound (ms).
TABLES = {"models": ("model", ("name", "description", "trigger_words"), 10.0),
          "files": ("model_file", ("original_name",), 10.0),
          "users": ("user", ("username", "bio"), 10.0),
          "images": ("image", ("prompt",), 30.0)}
SCALES = (("users", ("models", "files", "users")), ("images", ("images",)))


def query_classes(words: list[str]) -> dict[str, list[str]]:
    """Queries per class, from the vocabulary's frequency ranks (most frequent first)."""
    rare = len(words) * 9 // 10
    return {
        "rare": [words[rare], words[rare + 7], words[rare + 13]],
        "common": words[:3],
        "prefix": [words[i][:2] for i in (0, 1, 4)],
        "two terms": [f"{words[3]} {words[60]}", f"{words[12]} {words[400]}", f"{words[1]} {words[2000]}"],
    }


def fts_searches() -> dict[str, Callable[[str], object]]:
    from community.people import search_users
    from core.library.search import search_files, search_models
    from core.search import IMAGES
    from core.search.engine import ranked_ids
    from core.tables import Image

    def images(text: str):
        ranked = ranked_ids(IMAGES, text, Image.select(Image.id).where(Image.published == True))  # noqa: E712
        return list(Image.select().where(Image.id.in_(ranked[:PAGE]))), len(ranked)

    return {"models": lambda q: search_models(None, q, 1, PAGE), "files": lambda q: search_files(None, q, 1, PAGE),
            "users": lambda q: search_users(q, 1, PAGE), "images": images}


def like_search(db, table: str, columns: tuple[str, ...]) -> Callable[[str], object]:
    from peewee import PostgresqlDatabase

    from core.search.fts import terms

    like = "ILIKE" if isinstance(db, PostgresqlDatabase) else "LIKE"

    def search(text: str):
        words = terms(text)
        where = " AND ".join("(" + " OR ".join(f'"{c}" {like} {db.param}' for c in columns) + ")" for _ in words)
        params = [f"%{w}%" for w in words for _ in columns]
        total = db.execute_sql(f'SELECT count(*) FROM "{table}" WHERE {where}', params).fetchone()[0]
        rows = db.execute_sql(f'SELECT * FROM "{table}" WHERE {where} ORDER BY id DESC LIMIT {PAGE}', params)
        return rows.fetchall(), total

    return search


def measure_condition(db, classes: dict[str, list[str]], sizes: Sizes) -> dict:
    """``{table: {class: {"ours": [s...], "like": [s...]}}}``; LIKE samples interleaved with ours."""
    ours, samples = fts_searches(), {}
    likes = {name: like_search(db, table, columns) for name, (table, columns, _) in TABLES.items()}
    deadline = time.monotonic() + sizes.budget_s
    for index in range(sizes.samples):
        if index and time.monotonic() > deadline:
            break
        for name in TABLES:
            for cls, queries in classes.items():
                cell = samples.setdefault(name, {}).setdefault(cls, {"ours": [], "like": []})
                for query in queries:
                    cell["ours"].append(timed(functools.partial(ours[name], query)))
                    if index < sizes.like_samples:
                        cell["like"].append(timed(functools.partial(likes[name], query)))
    return samples


@contextmanager
def generation_worker(ws: Workspace, sizes: Sizes) -> Iterator[Callable[[], object]]:
    """The app's generation process (``core.generation.worker``) started and the tiny model loaded; yields one
    generation's call. Started once for both databases."""
    from core.generation.backend import FileRef, GenerationTask
    from core.generation.diffusion import GenerationRequest
    from core.generation.worker import GenerationWorker

    worker = GenerationWorker(cache_models=1)
    request = GenerationRequest(prompt="a red circle", width=sizes.gen_size, height=sizes.gen_size,
                                steps=sizes.gen_steps, seed=1)
    checkpoint = FileRef(sha256="tiny", size=ws.tiny.single_file.stat().st_size, path=str(ws.tiny.single_file))
    task = GenerationTask(checkpoint=checkpoint, request=request)
    try:
        worker.run(task)  # started and loaded before timing
        yield lambda: worker.run(task)
    finally:
        worker.close()


def count_label(n: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:g}{suffix}"
    return str(n)


def rows_for(conditions: dict[str, dict], classes: dict[str, list[str]], library: LibrarySizes,
             database: str = "") -> list[Row]:
    """One row per scale × class × condition: the worst table's p95, the smallest speed-up over LIKE."""
    rows = []
    for size_field, tables in SCALES:
        scale = f"{database + ' ' if database else ''}{count_label(getattr(library, size_field))} {'/'.join(tables)}"
        limit = TABLES[tables[0]][2]
        for cls in classes:
            for condition, samples in conditions.items():
                stats = {t: (p95(samples[t][cls]["ours"]) * 1000, p95(samples[t][cls]["like"]) * 1000) for t in tables}
                worst = max(tables, key=lambda t: stats[t][0])
                ratio = max(ours / like for ours, like in stats.values())
                rows.append(Row(f"4 search {scale} · {cls} · {condition}", stats[worst][0], stats[worst][1], "ms",
                                f"≤ {limit:g} ms, ≤ {1 / SPEEDUP:g}×", stats[worst][0] <= limit and ratio <= 1 / SPEEDUP,
                                ratio=ratio, detail={"p95_ms_ours_like": stats, "worst_table": worst,
                                                     "queries": classes[cls],
                                                     "samples_ours": len(samples[worst][cls]["ours"])}))
    return rows


def measure_database(ws: Workspace, target: str, sizes: Sizes, database: str,
                     generate_once: Callable[[], object]) -> list[Row]:
    """Build the library in the store at ``target``, then time every class idle and while ``generate_once`` runs
    back to back (the tiny model in the app's generation process, as a server's queue runs it)."""
    from core.migrations import open_store

    store = open_store(target)
    try:
        started = time.monotonic()
        words = build_library(store.db, sizes.library)
        built_s = time.monotonic() - started
        classes = query_classes(words)
        fts = fts_searches()
        for name in TABLES:  # warm-up: first-query costs, page cache
            for queries in classes.values():
                fts[name](queries[0])
        conditions = {}
        with ws.profiled(os.getpid(), f"search-{database or 'sqlite'}"):
            conditions["idle"] = measure_condition(store.db, classes, sizes)
            with GenerationLoop(generate_once) as loop:
                conditions["busy"] = measure_condition(store.db, classes, sizes)
    finally:
        store.close()
    rows = rows_for(conditions, classes, sizes.library, database)
    rows[0].detail.update(build_s=round(built_s, 1), generations_during_busy=loop.runs)
    return rows


def run(ws: Workspace) -> list[Row]:
    from tests.postgres import PostgresServer

    sizes = QUICK if ws.quick else FULL
    with generation_worker(ws, sizes) as generate_once:
        rows = measure_database(ws, str(ws.path("search") / "search.db"), sizes, "", generate_once)
        postgres = PostgresServer().start()
        try:
            rows += measure_database(ws, postgres.new_database("bench"), sizes, "PostgreSQL", generate_once)
        finally:
            postgres.stop()
    return rows
