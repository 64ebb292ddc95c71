"""The database: its tables and the connection (the migrations that build them: ``core.migrations``).

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
    SQL,
    BigIntegerField,
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    DoubleField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
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


def period_count() -> IntegerField:
    """An item's events since its period's watermark (``core.library.trending``; migration 21), indexed: the
    period rankings read items in its order."""
    return IntegerField(default=0, constraints=[SQL("DEFAULT 0")], index=True)


class SchemaVersion(BaseModel):
    version = IntegerField()
    applied_at = DateTimeField(default=utcnow)


class User(BaseModel):
    username = CharField(max_length=32)
    username_key = CharField(max_length=64, unique=True)  # NFKC + casefold
    username_skeleton = CharField(max_length=64, unique=True)  # look-alike guard
    password_hash = CharField(max_length=128)
    bio = TextField(default="")
    is_admin = BooleanField(default=False)
    is_banned = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    is_moderator = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])  # granted by an admin (migration 16)
    # How mature and explicit pictures and models are shown to them: hide, blur or show (migration 17).
    content_view = CharField(max_length=8, default="blur", constraints=[SQL("DEFAULT 'blur'")])


class Session(BaseModel):
    token_hash = CharField(max_length=64, unique=True)  # SHA-256 of the token; the token itself is never stored
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)


class AuditLog(BaseModel):
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    actor_name = CharField(max_length=32)
    action = CharField(max_length=64)
    target = CharField(max_length=255, default="")
    created_at = DateTimeField(default=utcnow, index=True)


MODEL_TYPES = ("checkpoint", "lora", "embedding", "vae", "upscaler", "other")
VISIBILITIES = ("public", "private")  # what an owner chooses
RATINGS = ("safe", "mature", "explicit")  # a model's or picture's content rating (migration 17), mildest first
CONTENT_VIEWS = ("hide", "blur", "show")  # what a viewer does with what is not safe
HIDDEN = "hidden"  # a model's visibility once a moderator hid it: its owner and the moderators see it


class AiModel(BaseModel):
    """A model in the library (called AiModel so it does not shadow peewee's Model)."""

    owner = ForeignKeyField(User, backref="models", on_delete="CASCADE")
    name = CharField(max_length=200)
    type = CharField(max_length=16, index=True)
    base_model = CharField(max_length=16, index=True)
    description = TextField(default="")
    trigger_words = TextField(default="")  # newline-separated
    visibility = CharField(max_length=8, default="public", index=True)
    source = CharField(max_length=8, default="upload")  # upload | local | hub | demo
    is_demo = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    like_count = IntegerField(default=0, index=True)
    download_count = IntegerField(default=0, index=True)
    comment_count = IntegerField(default=0)
    preview_path = CharField(max_length=1024, null=True)  # an A1111 "<name>.preview.png", relative to models_dir
    # The owner's licence terms, Civitai's fields and defaults (migration 10).
    allow_no_credit = BooleanField(default=True)
    allow_commercial_use = CharField(max_length=64, default="Image,RentCivit,Rent,Sell")  # comma-joined
    allow_derivatives = BooleanField(default=True)
    allow_different_license = BooleanField(default=True)
    rating = CharField(max_length=8, default="safe", constraints=[SQL("DEFAULT 'safe'")], index=True)  # migration 17
    # Reviews that recommend it / do not (core.reviews; migration 18).
    thumbs_up_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")], index=True)
    thumbs_down_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    # Likes, downloads and comments of the last day, week, month and year (core.library.trending).
    likes_day, likes_week, likes_month, likes_year = (period_count() for _ in range(4))
    downloads_day, downloads_week, downloads_month, downloads_year = (period_count() for _ in range(4))
    comments_day, comments_week, comments_month, comments_year = (period_count() for _ in range(4))

    class Meta:
        table_name = "model"


class ModelVersion(BaseModel):
    model = ForeignKeyField(AiModel, backref="versions", on_delete="CASCADE")
    name = CharField(max_length=200)
    base_model = CharField(max_length=16)
    default_weight = FloatField(null=True)  # LoRA weight suggested by its trainer
    created_at = DateTimeField(default=utcnow)
    download_count = IntegerField(default=0)
    thumbs_up_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])  # its reviews (migration 18)
    thumbs_down_count = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])


class ModelFile(BaseModel):
    version = ForeignKeyField(ModelVersion, backref="files", on_delete="CASCADE")
    original_name = CharField(max_length=255)
    stored_path = CharField(max_length=1024, unique=True)  # relative to models_dir
    size = BigIntegerField()
    sha256 = CharField(max_length=64, unique=True)
    autov2 = CharField(max_length=10, index=True)
    # The other hashes Civitai names files by (migration 9; None until a scan fills in files older than it,
    # and for diffusers folders, whose identity is the SHA-256 over their files' hashes).
    autov1 = CharField(max_length=8, null=True, index=True)
    autov3 = CharField(max_length=12, null=True, index=True)
    crc32 = CharField(max_length=8, null=True, index=True)
    blake3 = CharField(max_length=64, null=True, index=True)
    format = CharField(max_length=16)
    metadata = TextField(default="{}")  # safetensors __metadata__, JSON
    scan_result = CharField(max_length=255, default="safe")
    is_primary = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class Tag(BaseModel):
    name = CharField(max_length=64, unique=True)


class ModelTag(BaseModel):
    model = ForeignKeyField(AiModel, backref="model_tags", on_delete="CASCADE")
    tag = ForeignKeyField(Tag, backref="model_tags", on_delete="CASCADE")

    class Meta:
        indexes = ((("model", "tag"), True),)


class ScanCache(BaseModel):
    """Hashes of files found in models_dir, keyed by path + size + mtime, so rescans read nothing."""

    path = CharField(max_length=1024, unique=True)  # relative to models_dir
    size = BigIntegerField()
    mtime_ns = BigIntegerField()
    sha256 = CharField(max_length=64)
    autov1 = CharField(max_length=8, null=True)  # the other hashes: migration 9 (None: cached before it)
    autov3 = CharField(max_length=12, null=True)
    crc32 = CharField(max_length=8, null=True)
    blake3 = CharField(max_length=64, null=True)

    @classmethod
    def remember(cls, path: str, size: int, mtime_ns: int, **hashes) -> None:
        """Keep (or replace) the hashes of the file at ``path`` (an upsert both SQLite and PostgreSQL speak)."""
        values = {"path": path, "size": size, "mtime_ns": mtime_ns, **hashes}
        cls.insert(**values).on_conflict(
            conflict_target=[cls.path], update={getattr(cls, name): value for name, value in values.items()
                                                if name != "path"}).execute()


class Image(BaseModel):
    owner = ForeignKeyField(User, backref="images", on_delete="CASCADE")
    path = CharField(max_length=1024, unique=True)  # relative to outputs_dir
    width = IntegerField()
    height = IntegerField()
    prompt = TextField(default="")
    negative_prompt = TextField(default="")
    parameters = TextField(default="")  # the A1111 "parameters" text
    meta = TextField(default="{}")  # parsed parameters, JSON
    seed = BigIntegerField(null=True)
    model_hash = CharField(max_length=64, default="", index=True)
    model = ForeignKeyField(AiModel, null=True, backref="images", on_delete="SET NULL")
    model_version = ForeignKeyField(ModelVersion, null=True, backref="images", on_delete="SET NULL")
    published = BooleanField(default=False, index=True)
    published_at = DateTimeField(null=True, index=True)
    created_at = DateTimeField(default=utcnow, index=True)
    like_count = IntegerField(default=0, index=True)
    blurhash = CharField(max_length=64, null=True)  # the placeholder Civitai clients draw (migration 10)
    post_id = IntegerField(null=True, index=True)  # images published together; the first one's id (migration 10)
    comment_count = IntegerField(default=0, index=True)  # migration 12
    hidden = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])  # by a moderator, unpublished (migration 16)
    rating = CharField(max_length=8, default="safe", constraints=[SQL("DEFAULT 'safe'")], index=True)  # migration 17
    # Likes and comments of the last day, week, month and year (core.library.trending).
    likes_day, likes_week, likes_month, likes_year = (period_count() for _ in range(4))
    comments_day, comments_week, comments_month, comments_year = (period_count() for _ in range(4))


class Comment(BaseModel):
    """A comment on a model or on a published image: exactly one of ``model`` and ``image`` is set."""

    model = ForeignKeyField(AiModel, null=True, backref="comments", on_delete="CASCADE")  # nullable: migration 12
    image = ForeignKeyField(Image, null=True, backref="comments", on_delete="CASCADE")  # migration 12
    user = ForeignKeyField(User, backref="comments", on_delete="CASCADE")
    body = TextField()
    created_at = DateTimeField(default=utcnow, index=True)
    parent = ForeignKeyField("self", null=True, backref="replies", on_delete="CASCADE")  # answered; migration 15
    # A moderator hid it: its author and the moderators see it (migration 16).
    hidden = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])


class ModelLike(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    model = ForeignKeyField(AiModel, backref="likes", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "model"), True),)


class ImageLike(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE")
    image = ForeignKeyField(Image, backref="likes", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "image"), True),)


class Follow(BaseModel):
    follower = ForeignKeyField(User, backref="following", on_delete="CASCADE")
    followee = ForeignKeyField(User, backref="followers", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("follower", "followee"), True),)


class FailureCount(BaseModel):
    """Failed logins counted under one key (``core.accounts.throttle``; migration 14): in the database, so every
    app process of a site counts the same guesses."""

    key = CharField(max_length=400, primary_key=True)
    count = IntegerField()
    last = DoubleField(index=True)  # seconds since the epoch


class RecentRegistration(BaseModel):
    """An account made from a client address in the last hour (``core.accounts.throttle``; migration 14)."""

    client = CharField(max_length=64, index=True)
    at = DoubleField(index=True)  # seconds since the epoch


class Post(BaseModel):
    """What its author says about images published together (migration 12); its id is the images' ``post_id``
    (their first image's id), so posts published before it existed simply have no row."""

    id = IntegerField(primary_key=True)
    owner = ForeignKeyField(User, backref="posts", on_delete="CASCADE")
    title = CharField(max_length=200, default="")
    description = TextField(default="")
    created_at = DateTimeField(default=utcnow)


class PostTag(BaseModel):
    post = ForeignKeyField(Post, backref="tags", on_delete="CASCADE")
    tag = ForeignKeyField(Tag, backref="posts", on_delete="CASCADE")

    class Meta:
        indexes = ((("post", "tag"), True),)


SCHEMA_MODELS: list[type[Model]] = [SchemaVersion, User, Session, AuditLog, AiModel, ModelVersion, ModelFile, Tag,
                                    ModelTag, ScanCache, Image, Comment, ModelLike, ImageLike, Follow, Post, PostTag,
                                    FailureCount, RecentRegistration]


class UserPreference(BaseModel):
    """One per-user setting, e.g. the checkpoint the A1111 API uses for this user (migration 3)."""

    user = ForeignKeyField(User, backref="preferences", on_delete="CASCADE")
    key = CharField(max_length=64)
    value = TextField()

    class Meta:
        indexes = ((("user", "key"), True),)


class Invite(BaseModel):
    """A single-use registration code made by an admin (migration 8); only the code's SHA-256 is stored."""

    code_hash = CharField(max_length=64, unique=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    expires_at = DateTimeField(null=True)  # None: never
    used_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    used_at = DateTimeField(null=True)


LICENCE_COLUMNS = ("allow_no_credit", "allow_commercial_use", "allow_derivatives", "allow_different_license")


def on_postgres() -> bool:
    """Whether the bound database is PostgreSQL (else SQLite): for the few expressions the two spell apart."""
    return isinstance(AiModel._meta.database, PostgresqlDatabase)


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
        self._models = SCHEMA_MODELS + [UserPreference, Invite] + list(models)
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
