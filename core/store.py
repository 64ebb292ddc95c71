"""The database: the connection, the tables' base and the schema's version (the tables: ``core.tables``; the
migrations that build them: ``core.migrations``).

SQLite is the default (a file, WAL journal, ``busy_timeout``, foreign keys on,
``BEGIN IMMEDIATE`` for every write transaction so that concurrent writers
wait for the lock instead of failing with "database is locked").  Any URL that
peewee's ``playhouse.db_url`` understands works too, e.g. ``postgresql://``.

The models are declared unbound; ``Store`` binds them to its database when it
opens it.  One process serves one store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

from peewee import (
    Database,
    DateTimeField,
    IntegerField,
    Model,
    PostgresqlDatabase,
    SqliteDatabase,
    fn,
)
from peewee import DatabaseError as PeeweeDatabaseError

from core.errors import DatabaseUnavailable

POSTGRES_SCHEMES = ("postgresql", "postgres")
POSTGRES_POOL_SIZE = 32  # connections one process may hold (threads of the web server, the queue, scans)
POSTGRES_WAIT_S = 30  # how long a thread waits for a free pooled connection before failing
POSTGRES_CONNECT_TIMEOUT_S = 10  # a database that does not answer fails in seconds, not minutes

SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("busy_timeout", 30000),
    ("foreign_keys", 1),
    ("synchronous", "normal"),
)


def utcnow() -> dt.datetime:
    """Naive UTC, as stored in the database."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds") + "Z"


def iso_stored(value) -> str | None:
    """``iso`` of a DateTimeField's raw database value: SQLite's ``YYYY-MM-DD HH:MM:SS[.ffffff]`` text is
    rewritten as it is (parsing it costs more than the query that read it); anything else goes through
    peewee's own conversion."""
    if type(value) is str and len(value) in (19, 26) and value[10] == " ":
        return f"{value[:10]}T{value[11:23] if len(value) == 26 else value[11:] + '.000'}Z"
    return iso(DateTimeField().python_value(value))


class BaseModel(Model):
    class Meta:
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = IntegerField()
    applied_at = DateTimeField(default=utcnow)


def on_postgres() -> bool:
    """Whether the bound database is PostgreSQL (else SQLite): for the few expressions the two spell apart."""
    return isinstance(SchemaVersion._meta.database, PostgresqlDatabase)


def joined_text(field, separator: str):
    """The values of ``field`` in a group joined by ``separator`` (``group_concat`` / ``string_agg``)."""
    return fn.string_agg(field, separator) if on_postgres() else fn.group_concat(field, separator)


def holds_text(haystack, needle: str):
    """``haystack`` contains ``needle`` as it is written (``instr`` / ``strpos``; no pattern characters)."""
    return (fn.strpos(haystack, needle) if on_postgres() else fn.instr(haystack, needle)) > 0


DATABASE_GONE = "the database cannot be reached right now: try again in a moment"


def is_connection_lost(exc: Exception) -> bool:
    """Whether a database error means the connection (not the query) failed: the server went away."""
    from peewee import InterfaceError, OperationalError

    text = str(exc).lower()
    return isinstance(exc, InterfaceError) or (isinstance(exc, OperationalError) and any(
        words in text for words in ("connection", "server closed", "terminating", "could not connect",
                                    "the database system is")))


def shown_url(target: str) -> str:
    """``target`` as it may be printed: a URL's password replaced by ``***``."""
    parts = urlsplit(target)
    if parts.password is None:
        return target
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def open_database(target: str) -> Database:
    """A peewee database from a file path, a ``sqlite://`` URL or a ``postgresql://`` URL (any other is refused
    with a line saying which ones work)."""
    if "://" not in target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE",
                              check_same_thread=False, timeout=30)
    scheme = target.split("://", 1)[0].lower()
    if scheme.startswith("sqlite"):
        from playhouse.db_url import connect

        return connect(target, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", check_same_thread=False, timeout=30)
    if scheme in POSTGRES_SCHEMES:
        return _postgres(target)
    raise DatabaseUnavailable(f"cannot use the database {shown_url(target)}: give a SQLite file path or a "
                              "postgresql://user:password@host/database URL")


def _postgres(url: str) -> Database:
    """A pool of PostgreSQL connections (psycopg 3), each thread taking one while it works."""
    try:
        import psycopg  # noqa: F401  (peewee picks the driver that imports; say so when none does)
    except ImportError:
        raise DatabaseUnavailable(f"cannot use the database {shown_url(url)}: the PostgreSQL driver is not "
                                  "installed (pip install -r requirements.txt installs psycopg)") from None
    normalized = "postgresql://" + url.split("://", 1)[1]
    return _pooled_postgres()(normalized, max_connections=POSTGRES_POOL_SIZE, stale_timeout=300,
                              timeout=POSTGRES_WAIT_S, connect_timeout=POSTGRES_CONNECT_TIMEOUT_S)


def _pooled_postgres() -> type:
    """Pooled PostgreSQL that replaces a connection the server dropped (a restart, a lost network) the next time
    it is used outside a transaction, instead of failing with it forever (``ReconnectMixin``)."""
    from peewee import InterfaceError, OperationalError
    from playhouse.pool import PooledPostgresqlDatabase
    from playhouse.shortcuts import ReconnectMixin

    class ReconnectingPostgres(ReconnectMixin, PooledPostgresqlDatabase):
        reconnect_errors = ((OperationalError, "server closed the connection"),
                            (OperationalError, "the connection is closed"),
                            (OperationalError, "terminating connection"),
                            (OperationalError, "connection is lost"),
                            (InterfaceError, ""))

    return ReconnectingPostgres


Migration = Callable[[Database], None]


class Store:
    """An open database with the given tables bound to it.

    ``core.migrations.open_store`` is the way in: it binds the whole schema
    (these tables and the search index's) and brings it up to date.
    """

    def __init__(self, target: str, models: Iterable[type[Model]] = ()):
        self.target = target
        self.db = open_database(target)
        self._models = [SchemaVersion, *models]
        self.bind()
        try:
            self.db.connect(reuse_if_open=True)
        except PeeweeDatabaseError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(f"cannot reach the database {shown_url(target)}: {reason}") from None

    def bind(self) -> None:
        """Bind the tables to this store's database (again, after another store was opened in this process)."""
        self.db.bind(self._models)

    @property
    def is_sqlite(self) -> bool:
        return isinstance(self.db, SqliteDatabase)

    @property
    def path(self) -> Path | None:
        return Path(self.db.database) if self.is_sqlite else None

    def schema_version(self) -> int:
        if not self.db.table_exists(SchemaVersion._meta.table_name):
            return 0
        latest = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
        return latest.version if latest else 0

    def applied_versions(self) -> set[int]:
        if not self.db.table_exists(SchemaVersion._meta.table_name):
            return set()
        return {row.version for row in SchemaVersion.select(SchemaVersion.version)}

    def migrate(self, migrations: Mapping[int, Migration]) -> int:
        """Apply every migration the database has not had (also one numbered below the newest); returns the version."""
        with self.write():
            applied = self.applied_versions()
            for version in sorted(set(migrations) - applied):
                migrations[version](self.db)
                SchemaVersion.create(version=version)
        return self.schema_version()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite); nests as a savepoint."""
        with self.db.atomic():
            yield

    def lock_row(self, table: type[Model], row_id: int) -> None:
        """Inside ``write()``: hold ``row_id``'s row until the transaction ends, so read-then-write steps on it
        (recounting its likes or comments) take turns across processes.  SQLite's ``BEGIN IMMEDIATE`` already
        serialises every writer; PostgreSQL's read-committed transactions need ``SELECT … FOR NO KEY UPDATE``
        (which, unlike ``FOR UPDATE``, lets rows pointing at this one be inserted meanwhile)."""
        self.lock_rows(table, [row_id])

    def lock_rows(self, table: type[Model], keys: Iterable) -> None:
        """``lock_row`` for several rows at once, taken in key order (two writers locking overlapping rows
        cannot deadlock)."""
        key, keys = table._meta.primary_key, list(keys)
        if not self.is_sqlite and keys:
            table.select(key).where(key.in_(keys)).order_by(key).for_update("FOR NO KEY UPDATE").execute()

    def backup(self, destination: Path) -> Path:
        """A consistent online copy (SQLite's backup API, one step: a snapshot while writers go on)."""
        import sqlite3

        if not self.is_sqlite:
            raise ValueError("backup works on SQLite databases; use your database's own tool (e.g. pg_dump)")
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        partial.unlink(missing_ok=True)
        source = sqlite3.connect(str(self.path), timeout=30)
        target = sqlite3.connect(str(partial))
        try:
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=DELETE")
            status = target.execute("PRAGMA integrity_check").fetchone()[0]
            if status != "ok":
                raise RuntimeError(f"the backup failed its integrity check: {status}")
        finally:
            target.close()
            source.close()
        os.replace(partial, destination)
        return destination

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()
