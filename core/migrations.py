"""The schema's history: every migration in order, and ``open_store``, which applies the missing ones.

The tables are declared where they belong (``core.tables``; the full-text index's in ``core.search.index``);
this module is the one place that knows them all, so the store itself imports no domain.
"""

from __future__ import annotations

from typing import Mapping

from peewee import Database

from core import events
from core.collection_tables import COLLECTION_MODELS, create_collections
from core.data_version import create_library_version, create_postgres_library_version
from core.events import EVENT_MODELS, create_events, create_watermarks
from core.notifications import NOTIFICATION_MODELS, create_notifications
from core.reports import REPORT_MODELS, create_reports
from core.reviews import REVIEW_MODELS
from core.search.index import SEARCH_MODELS, create_name_index, create_search_index
from core.search.pg_index import create_postgres_search
from core.store import Migration, Store
from core.tables import (
    LICENCE_COLUMNS,
    SCHEMA_MODELS,
    TABLES,
    AiModel,
    Comment,
    FailureCount,
    Image,
    Invite,
    ModelFile,
    ModelVersion,
    Post,
    PostTag,
    RecentRegistration,
    ScanCache,
    User,
    UserPreference,
)


def _create_initial_schema(db: Database) -> None:
    db.create_tables(SCHEMA_MODELS)


def _create_user_preferences(db: Database) -> None:
    db.create_tables([UserPreference])


def _create_invites(db: Database) -> None:
    db.create_tables([Invite])


def _add_model_preview(db: Database) -> None:
    """``model.preview_path`` (databases made before it existed; new ones get it from version 1)."""
    from playhouse.migrate import SchemaMigrator, migrate

    if "preview_path" not in {column.name for column in db.get_columns("model")}:
        migrate(SchemaMigrator.from_database(db).add_column("model", "preview_path", AiModel.preview_path))


def _index_published_images_by_model(db: Database) -> None:
    """Model covers and sample images look up a model's newest published images; without this index SQLite
    walks every published image (the ``published`` index) for each listing page."""
    db.execute_sql('CREATE INDEX IF NOT EXISTS "image_model_published_id" ON "image" ("model_id", "published", "id")')


def _add_file_hash_columns(db: Database) -> None:
    """AutoV1, AutoV3, CRC32 and BLAKE3 beside each file's SHA-256 (and in the scan cache), indexed for
    ``/model-versions/by-hash``.  Existing rows keep None until the next models-folder scan (one at every
    start-up) hashes their files once (``core.library.scanner``)."""
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(db)
    for model in (ModelFile, ScanCache):
        table = model._meta.table_name
        present = {column.name for column in db.get_columns(table)}
        fields = [model.autov1, model.autov3, model.crc32, model.blake3]
        migrate(*(migrator.add_column(table, f.column_name, f) for f in fields if f.column_name not in present))
    for field in (ModelFile.autov1, ModelFile.autov3, ModelFile.crc32, ModelFile.blake3):
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "model_file_{field.column_name}" '
                       f'ON "model_file" ("{field.column_name}")')


def _add_licences_blurhash_posts(db: Database) -> None:
    """The model's licence fields, an image's BlurHash and its post (databases made before them; new ones get
    them from version 1).  Published images of older databases become posts of their own."""
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(db)
    model_columns = {column.name for column in db.get_columns("model")}
    image_columns = {column.name for column in db.get_columns("image")}
    operations = [migrator.add_column("model", name, getattr(AiModel, name))
                  for name in LICENCE_COLUMNS if name not in model_columns]
    operations += [migrator.add_column("image", name, getattr(Image, name))
                   for name in ("blurhash", "post_id") if name not in image_columns]
    if operations:
        migrate(*operations)
    if "post_id" not in image_columns:
        db.execute_sql('CREATE INDEX IF NOT EXISTS "image_post_id" ON "image" ("post_id")')
    db.execute_sql('UPDATE "image" SET "post_id" = "id" WHERE "published" AND "post_id" IS NULL')


def _rename_base_models(db: Database) -> None:
    """Civitai's base model names in place of the family names used before (``core.library.base_models``):
    each family becomes its usual name."""
    renames = {"SD 1.x": "SD 1.5", "SD 2.x": "SD 2.1", "SDXL": "SDXL 1.0", "other": "Other"}
    for table in (AiModel, ModelVersion):
        for old, new in renames.items():
            table.update(base_model=new).where(table.base_model == old).execute()


def _comments_on_images_and_posts(db: Database) -> None:
    """Comments on published images as on models (``comment.model_id`` nullable, ``comment.image_id``), an image's
    comment count, and posts' titles, descriptions and tags (databases made before them; new ones get them from
    version 1)."""
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(db)
    comment_columns = {column.name: column for column in db.get_columns("comment")}
    operations = []
    if not comment_columns["model_id"].null:
        operations.append(migrator.drop_not_null("comment", "model_id"))
    if "image_id" not in comment_columns:
        operations.append(migrator.add_column("comment", "image_id", Comment.image))
    if "comment_count" not in {column.name for column in db.get_columns("image")}:
        operations.append(migrator.add_column("image", "comment_count", Image.comment_count))
    if operations:
        migrate(*operations)
    db.execute_sql('CREATE INDEX IF NOT EXISTS "comment_image_id" ON "comment" ("image_id")')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "image_comment_count" ON "image" ("comment_count")')
    db.create_tables([Post, PostTag], safe=True)


def _postgres_search_and_library_version(db: Database) -> None:
    """PostgreSQL's full-text index and library version (``core.search.pg_index``, ``core.data_version``); SQLite
    has had both since migrations 2, 6 and 7, so this does nothing there."""
    create_postgres_search(db)
    create_postgres_library_version(db)


def _shared_throttles(db: Database) -> None:
    """The login and registration throttles' counts, in the database so that every app process shares them
    (databases made before them; new ones get them from version 1)."""
    db.create_tables([FailureCount, RecentRegistration], safe=True)


def _replies_and_notifications(db: Database) -> None:
    """Answers to comments (``comment.parent_id``, one level as Civitai) and the notifications table
    (``core.notifications``)."""
    from playhouse.migrate import SchemaMigrator, migrate

    if "parent_id" not in {column.name for column in db.get_columns("comment")}:
        migrate(SchemaMigrator.from_database(db).add_column("comment", "parent_id", Comment.parent))
    db.execute_sql('CREATE INDEX IF NOT EXISTS "comment_parent_id" ON "comment" ("parent_id")')
    create_notifications(db)


def _add_missing_columns(db: Database, wanted) -> None:
    """Add each ``(table, field)`` column the table does not have yet (new databases get them from version 1)."""
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(db)
    operations = [migrator.add_column(table, field.column_name, field) for table, field in wanted
                  if field.column_name not in {column.name for column in db.get_columns(table)}]
    if operations:
        migrate(*operations)


def _moderation(db: Database) -> None:
    """The moderator role, hidden images and comments, and reports (``core.reports``); a hidden model is a
    visibility (``hidden``), so it needs no column."""
    _add_missing_columns(db, (("user", User.is_moderator), ("image", Image.hidden), ("comment", Comment.hidden)))
    create_reports(db)


def _content_ratings(db: Database) -> None:
    """Models' and pictures' content rating (safe, mature, explicit) and each person's way of seeing what is not
    safe (hide, blur, show); everything made before is safe, everyone blurs."""
    _add_missing_columns(db, (("user", User.content_view), ("model", AiModel.rating), ("image", Image.rating)))
    for table in ("model", "image"):
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_rating" ON "{table}" ("rating")')


def _reviews(db: Database) -> None:
    """Reviews of model versions (``core.reviews``) and their counts on versions and models."""
    _add_missing_columns(db, (("model", AiModel.thumbs_up_count), ("model", AiModel.thumbs_down_count),
                              ("model_version", ModelVersion.thumbs_up_count),
                              ("model_version", ModelVersion.thumbs_down_count)))
    db.execute_sql('CREATE INDEX IF NOT EXISTS "model_thumbs_up_count" ON "model" ("thumbs_up_count")')
    db.create_tables(REVIEW_MODELS, safe=True)


def _period_counters(db: Database) -> None:
    """Likes, downloads and comments per day, week, month and year on models and pictures, counted from the
    events since each period's start (``core.library.trending``)."""
    counters = [(window.items._meta.table_name, counter) for window in events.WINDOWS
                for counter in window.counters.values()]
    _add_missing_columns(db, counters)
    for table, counter in counters:
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{table}_{counter.column_name}" ON "{table}" '
                       f'("{counter.column_name}")')
    create_watermarks(db, {period: events.period_start(period) for period in events.RANKED_PERIODS})
    events.recount_all()


# Forward migrations: version -> function.  Append; never edit a released one.
MIGRATIONS: dict[int, Migration] = {
    1: _create_initial_schema,
    2: create_search_index,
    3: _create_user_preferences,
    4: _add_model_preview,
    5: _index_published_images_by_model,
    6: create_library_version,
    7: create_name_index,
    8: _create_invites,
    9: _add_file_hash_columns,
    10: _add_licences_blurhash_posts,
    11: _rename_base_models,
    12: _comments_on_images_and_posts,
    13: _postgres_search_and_library_version,
    14: _shared_throttles,
    15: _replies_and_notifications,
    16: _moderation,
    17: _content_ratings,
    18: _reviews,
    19: create_collections,
    20: create_events,
    21: _period_counters,
}


# Every table holding the site's own rows (the search index's are built from them by triggers).
SITE_MODELS = TABLES + NOTIFICATION_MODELS + REPORT_MODELS + REVIEW_MODELS + COLLECTION_MODELS + EVENT_MODELS


def open_store(target: str, migrations: Mapping[int, Migration] = MIGRATIONS) -> Store:
    """The store at ``target`` (a SQLite path or a database URL) with every table bound and the schema up to date."""
    store = Store(target, models=SITE_MODELS + SEARCH_MODELS)
    store.migrate(migrations)
    return store
