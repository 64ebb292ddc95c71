"""``migrate-db``: a site's whole database copied into an empty PostgreSQL database, ids kept.

The target gets its schema from the migrations (so PostgreSQL's own search documents and counters are built by
its triggers as the rows arrive), then every table's rows in the order their foreign keys need, in batches;
each table's id sequence is set past its largest id, and the row counts of source and target are compared
before the copy is called done. The source is only read: the site can keep running on it until the switch.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import BooleanField, Database, ForeignKeyField, Model

from core.errors import InvalidInput
from core.events import TrendWatermark
from core.migrations import SITE_MODELS, open_store
from core.store import SchemaVersion, Store, shown_url
from core.tables import User

BATCH = 1000
# Tables the migrations fill on an empty database: the rankings' watermarks go with the source's counters.
SEEDED = (TrendWatermark,)


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]  # table -> rows copied

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copied_tables() -> list[type[Model]]:
    """Every table of the site's rows (notifications, reports, reviews, collections and events included; the
    schema version aside: the target keeps its own), parents first."""
    tables = [model for model in SITE_MODELS if model is not SchemaVersion]
    ordered: list[type[Model]] = []
    while tables:
        ready = [m for m in tables if all(f.rel_model in ordered or f.rel_model is m or f.rel_model not in tables
                                          for f in m._meta.fields.values() if isinstance(f, ForeignKeyField))]
        ordered += ready
        tables = [m for m in tables if m not in ready]
    return ordered


def _rows(db: Database, model: type[Model]):
    """The table's rows from ``db``, in id order where it has one, as Python values (booleans, datetimes)."""
    fields = list(model._meta.sorted_fields)
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    order = f' ORDER BY "{model._meta.primary_key.column_name}"' if model._meta.primary_key else ""
    cursor = db.execute_sql(f'SELECT {columns} FROM "{model._meta.table_name}"{order}')
    while batch := cursor.fetchmany(BATCH):
        yield [tuple(bool(v) if isinstance(f, BooleanField) and v is not None else f.python_value(v)
                     for f, v in zip(fields, row)) for row in batch]


def _count(db: Database, model: type[Model]) -> int:
    return db.execute_sql(f'SELECT count(*) FROM "{model._meta.table_name}"').fetchone()[0]


def _copy_table(source: Database, target: Database, model: type[Model]) -> int:
    fields = list(model._meta.sorted_fields)
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    insert = (f'INSERT INTO "{model._meta.table_name}" ({columns}) '
              f'VALUES ({", ".join(["%s"] * len(fields))})')
    copied = 0
    for batch in _rows(source, model):
        cursor = target.cursor()
        cursor.executemany(insert, batch)
        copied += len(batch)
    key = model._meta.primary_key
    if key is not None and key.field_type == "AUTO":
        target.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{model._meta.table_name}\"', "
                           f"'{key.column_name}'), coalesce((SELECT max(\"{key.column_name}\") "
                           f"FROM \"{model._meta.table_name}\"), 0) + 1, false)")
    return copied


def copy_site(source: Store, target_url: str) -> CopyReport:
    """Copy every row of ``source`` into the empty PostgreSQL database at ``target_url``; InvalidInput when the
    target is no PostgreSQL database or already holds a site."""
    if not target_url.split("://", 1)[0].lower().startswith("postgres"):
        raise InvalidInput(f"--to must be a postgresql:// URL, not {shown_url(target_url)}")
    source_db = source.db
    target = open_store(target_url)
    try:
        if _count(target.db, User) or any(_count(target.db, m) for m in copied_tables() if m not in SEEDED):
            raise InvalidInput(f"{shown_url(target_url)} already holds a site: copy into an empty database")
        rows = {}
        with target.db.atomic():
            for model in SEEDED:  # the source's rows replace what the migrations put there
                target.db.execute_sql(f'DELETE FROM "{model._meta.table_name}"')
            for model in copied_tables():
                rows[model._meta.table_name] = _copy_table(source_db, target.db, model)
        for model in copied_tables():
            if _count(target.db, model) != _count(source_db, model):
                raise RuntimeError(f"{model._meta.table_name}: the copy does not hold every row")
        return CopyReport(rows)
    finally:
        target.close()
        source.bind()
