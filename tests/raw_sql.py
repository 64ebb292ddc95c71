"""One SQL statement run on a site's database the way another program would: straight through the driver,
past the app and its store (``?`` for parameters on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import sqlite3


def run_sql(database: str, statement: str, params: tuple = ()) -> list[tuple]:
    """Run ``statement`` on ``database`` (a SQLite file path, or a ``postgresql://`` URL); its rows, if any."""
    if not database.startswith("postgresql://"):
        with sqlite3.connect(database, timeout=30) as db:
            return db.execute(statement, params).fetchall()
    import psycopg

    with psycopg.connect(database, autocommit=True) as db:
        cursor = db.execute(statement.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []
