"""Synthetic but realistic library text: a Zipf-distributed vocabulary, bulk-inserted through the real schema.

Words are made of syllables (so two-letter prefixes are shared, as in real
text), drawn with probability ∝ 1/rank^1.07 (the shape of word frequencies in
prompts and descriptions).  Rows go in with ``executemany``, into SQLite or
PostgreSQL alike; for speed the search triggers are dropped during the load and
the index is then built whole by the schema's own steps (SQLite:
``create_search_index``, ``create_name_index``; PostgreSQL: the model documents'
``va_rebuild_model_docs`` and the generated columns' GIN indexes made after the
rows), as when an existing database is upgraded: per-row indexing costs about 4x
more CPU.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
from peewee import Database, PostgresqlDatabase

from core.library.base_models import BASE_MODELS
from core.search.index import create_name_index, create_search_index, name_index_ddl, search_ddl
from core.search.pg_index import GENERATED, MODEL_DOC_TRIGGERS
from core.tables import MODEL_TYPES, AiModel, Image, ModelFile, ModelVersion, User

SYLLABLES = ("ka", "ri", "mo", "sen", "ta", "lu", "vi", "ne", "ab", "dor", "el", "fin", "gra", "hol", "is", "jun",
             "kel", "mar", "no", "pel", "qua", "ros", "sta", "tor", "ul", "ven", "wyn", "xo", "yar", "zen")
ZIPF_EXPONENT = 1.07
BATCH = 20_000
BUILD_CACHE_KB = 256 * 1024
TRIGGER_NAME = re.compile(r"CREATE TRIGGER (\w+)")


@dataclass(frozen=True)
class LibrarySizes:
    users: int
    models: int  # one version and one file each
    images: int


def vocabulary(size: int, seed: int = 0) -> list[str]:
    """``size`` distinct words of 2-4 syllables, most frequent first."""
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))] = None
    return list(words)


class ZipfText:
    """Texts of Zipf-distributed words from ``words`` (rank = list order)."""

    def __init__(self, words: list[str], seed: int = 0):
        ranks = np.arange(1, len(words) + 1, dtype=np.float64)
        weights = ranks ** -ZIPF_EXPONENT
        self.words = words
        self.cumulative = np.cumsum(weights / weights.sum())
        self.rng = np.random.default_rng(seed)

    def texts(self, count: int, low: int, high: int) -> Iterator[str]:
        """``count`` texts of ``low``..``high`` words, generated in batches (flat memory)."""
        for start in range(0, count, BATCH):
            n = min(BATCH, count - start)
            lengths = self.rng.integers(low, high + 1, n)
            picks = np.searchsorted(self.cumulative, self.rng.random(int(lengths.sum())))
            picks = np.minimum(picks, len(self.words) - 1).tolist()
            offsets = itertools.accumulate(lengths.tolist(), initial=0)
            bounds = list(offsets)
            for i in range(n):
                yield " ".join(self.words[k] for k in picks[bounds[i]:bounds[i + 1]])


def _default(field, now: dt.datetime):
    value = field.default() if callable(field.default) else field.default
    if isinstance(value, dt.datetime):
        return str(now)
    return int(value) if isinstance(value, bool) else value


def _value(field, value, on_postgres: bool):
    """SQLite takes 0/1 for a boolean; PostgreSQL wants a boolean."""
    return bool(value) if on_postgres and field.field_type == "BOOL" and value is not None else value


def insert_rows(db: Database, model, rows: Iterable[dict]) -> None:
    """Bulk insert (``id`` assigned by the database); fields a row leaves out get their defaults."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    fields = [f for f in model._meta.sorted_fields if f.name != "id"]
    defaults = {f.name: _default(f, now) for f in fields}
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({", ".join([db.param] * len(fields))})'
    rows = iter(rows)
    on_postgres = isinstance(db, PostgresqlDatabase)
    with db.atomic():
        cursor = db.cursor()
        while chunk := list(itertools.islice(rows, BATCH)):
            cursor.executemany(sql, [tuple(_value(f, row.get(f.name, defaults[f.name]), on_postgres) for f in fields)
                                     for row in chunk])


def _next_id(model) -> int:
    return (model.select(model.id).order_by(model.id.desc()).scalar() or 0) + 1


def _users(words: list[str], text: ZipfText, count: int, first: int) -> Iterator[dict]:
    rng = random.Random(1)
    for i, bio in zip(range(first, first + count), text.texts(count, 0, 12)):
        name = f"{rng.choice(words[:3000])}{i}"[:32]
        yield {"username": name, "username_key": name.lower(), "username_skeleton": name.lower(),
               "password_hash": "!", "bio": bio}


def _models(text: ZipfText, count: int, owners: range) -> Iterator[dict]:
    rng = random.Random(2)
    for name, description in zip(text.texts(count, 1, 4), text.texts(count, 10, 60)):
        yield {"owner": rng.choice(owners), "name": name.title(), "description": description,
               "trigger_words": "\n".join(rng.sample(text.words[:5000], rng.randint(0, 2))),
               "type": rng.choice(MODEL_TYPES), "base_model": rng.choice(BASE_MODELS),
               "like_count": int(rng.paretovariate(1.2)), "download_count": int(rng.paretovariate(1.1))}


@contextmanager
def index_suspended(db: Database) -> Iterator[None]:
    """Bulk-load mode: no search triggers (nor, on PostgreSQL, GIN indexes); afterwards the index is built whole."""
    if isinstance(db, PostgresqlDatabase):
        with postgres_index_suspended(db):
            yield
        return
    cache_pages = db.execute_sql("PRAGMA cache_size").fetchone()[0]
    db.execute_sql(f"PRAGMA cache_size=-{BUILD_CACHE_KB}")
    for statement in search_ddl() + name_index_ddl():
        db.execute_sql(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME.match(statement).group(1)}")
    db.execute_sql("DELETE FROM model_search")
    try:
        yield
    finally:
        with db.atomic():
            create_search_index(db)
            create_name_index(db)
        db.execute_sql(f"PRAGMA cache_size={cache_pages}")


@contextmanager
def postgres_index_suspended(db: Database) -> Iterator[None]:
    for trigger in MODEL_DOC_TRIGGERS:
        db.execute_sql(f"ALTER TABLE {trigger.split(' ON ')[1]} DISABLE TRIGGER {trigger.split(' ON ')[0]}")
    for table, _ in GENERATED:
        db.execute_sql(f"DROP INDEX IF EXISTS {table.strip(chr(34))}_search")
    try:
        yield
    finally:
        db.execute_sql("SELECT va_rebuild_model_docs()")
        for table, _ in GENERATED:
            db.execute_sql(f"CREATE INDEX IF NOT EXISTS {table.strip(chr(34))}_search ON {table} USING gin (search)")
        for trigger in MODEL_DOC_TRIGGERS:
            db.execute_sql(f"ALTER TABLE {trigger.split(' ON ')[1]} ENABLE TRIGGER {trigger.split(' ON ')[0]}")
        db.execute_sql("ANALYZE")


def build_library(db: Database, sizes: LibrarySizes, seed: int = 0, vocab_size: int = 20_000) -> list[str]:
    """Users, models (each with a version and a file) and published images; returns the vocabulary."""
    words = vocabulary(vocab_size, seed)
    with index_suspended(db):
        _fill(db, sizes, words, seed)
    return words


def _fill(db: Database, sizes: LibrarySizes, words: list[str], seed: int) -> None:
    text = ZipfText(words, seed)
    first_user = _next_id(User)
    insert_rows(db, User, _users(words, text, sizes.users, first_user))
    owners = range(first_user, first_user + sizes.users)
    first_model = _next_id(AiModel)
    insert_rows(db, AiModel, _models(text, sizes.models, owners))
    model_ids = range(first_model, first_model + sizes.models)
    first_version = _next_id(ModelVersion)
    insert_rows(db, ModelVersion, ({"model": m, "name": "v1", "base_model": "SD 1.x"} for m in model_ids))
    names = dict(AiModel.select(AiModel.id, AiModel.name).where(AiModel.id >= first_model).tuples())
    insert_rows(db, ModelFile, _named_files(first_version, model_ids, names))
    insert_rows(db, Image, _images(text, sizes.images, owners, model_ids))


def _named_files(first_version: int, model_ids: range, names: dict[int, str]) -> Iterator[dict]:
    for version, model in zip(itertools.count(first_version), model_ids):
        sha = f"{version:064x}"
        yield {"version": version, "original_name": f"{names[model].lower().replace(' ', '_')}.safetensors",
               "stored_path": f"bench/{version}.safetensors", "size": 2_000_000_000, "sha256": sha,
               "autov2": sha[:10], "format": "safetensors"}


def _images(text: ZipfText, count: int, owners: range, model_ids: range) -> Iterator[dict]:
    rng = random.Random(3)
    now = str(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    for i, prompt in enumerate(text.texts(count, 8, 30)):
        yield {"owner": rng.choice(owners), "path": f"bench/{i}.png", "width": 512, "height": 512, "prompt": prompt,
               "seed": i, "model": rng.choice(model_ids) if model_ids else None, "published": True,
               "published_at": now}
