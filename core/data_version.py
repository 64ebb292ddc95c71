"""A number that changes whenever something a model page shows changes, so read answers can be cached.

``library_version`` holds one row; triggers add 1 to it on every insert,
update or delete of a model, version, file, tag, tagging, user, or published
image (covers).  Triggers, not hook calls, so every write path (REST, UI,
scans, cascades, another process, raw SQL) moves it; reading it is one
primary-key lookup, so an app process sees another's writes at once.

The counter moves in the writing transaction (it commits with the data), so
an answer is never kept under a version newer than the rows it was read
from.  On PostgreSQL (migration 13) the triggers are per statement, one bump
per write rather than per row, except on images, whose row decides (a draft
from the Generate tab moves nothing).
"""

from __future__ import annotations

from peewee import Database, PostgresqlDatabase, SqliteDatabase

TABLE = "library_version"
_BUMP = f"UPDATE {TABLE} SET version = version + 1 WHERE id = 1;"
# (table, condition on the changed row or ""): image rows matter only while published (they are model covers).
_WATCHED = (("model", ""), ("model_version", ""), ("model_file", ""), ("model_tag", ""), ("tag", ""),
            ('"user"', ""), ("image", "{row}.published"))


def _triggers() -> list[str]:
    statements = []
    for table, condition in _WATCHED:
        name = table.strip('"')
        for event, row in (("INSERT", "new"), ("DELETE", "old"), ("UPDATE", "new")):
            when = condition.format(row=row)
            if when and event == "UPDATE":
                when = f"({when} OR old.published)"
            statements.append(f"CREATE TRIGGER {TABLE}_{name}_{event.lower()} AFTER {event} ON {table} "
                              f"{'WHEN ' + when + ' ' if when else ''}BEGIN {_BUMP} END")
    return statements


def create_library_version(db: Database) -> None:
    """Migration 6: the counter row and its triggers (SQLite only)."""
    if not isinstance(db, SqliteDatabase):
        return
    db.execute_sql(f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)")
    db.execute_sql(f"INSERT OR IGNORE INTO {TABLE} (id, version) VALUES (1, 0)")
    for statement in _triggers():
        db.execute_sql(statement)


def create_postgres_library_version(db: Database) -> None:
    """Migration 13, PostgreSQL's half of migration 6: the counter row and statement triggers."""
    if not isinstance(db, PostgresqlDatabase):
        return
    db.execute_sql(f"CREATE TABLE IF NOT EXISTS {TABLE} (id integer PRIMARY KEY, version bigint NOT NULL)")
    db.execute_sql(f"INSERT INTO {TABLE} (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
    db.execute_sql(f"""CREATE OR REPLACE FUNCTION va_library_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN {_BUMP} RETURN NULL; END $$""")
    for table, condition in _WATCHED:
        name = table.strip('"')
        if not condition:
            db.execute_sql(f"CREATE OR REPLACE TRIGGER {TABLE}_{name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                           "FOR EACH STATEMENT EXECUTE FUNCTION va_library_version_bump()")
            continue
        # A condition on the row needs row triggers, one per event (an INSERT has no old row, a DELETE no new).
        for event, when in (("INSERT", condition.format(row="new")), ("DELETE", condition.format(row="old")),
                            ("UPDATE", f"{condition.format(row='new')} OR {condition.format(row='old')}")):
            db.execute_sql(f"CREATE OR REPLACE TRIGGER {TABLE}_{name}_{event.lower()} AFTER {event} ON {table} "
                           f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION va_library_version_bump()")


def read(db: Database) -> int | None:
    """The current library version, or None where there is none (a database from before it)."""
    row = db.execute_sql(f"SELECT version FROM {TABLE} WHERE id = 1").fetchone()
    return row[0] if row else None
