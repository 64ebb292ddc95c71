"""The full-text index (SQLite FTS5): its tables, the triggers that keep it in step, its migration.

- ``model_search``: one row per model (rowid = model id) holding a copy of
  name, description, tags, trigger words and the creator's name.  Its text
  comes from several tables, so it is a regular FTS5 table kept in step by
  triggers on ``model``, ``model_tag``, ``tag`` and ``user``.
- ``file_search``, ``user_search``, ``image_search``: external-content tables
  over ``model_file.original_name``, ``user.username``/``bio`` and
  ``image.prompt`` (the text is not stored twice), kept in step by the
  standard FTS5 insert/delete/update triggers.
- ``model_name_search``, ``user_name_search`` (migration 7): external-content
  tables over ``model.name`` and ``user.username`` alone.  Ranking reads the
  newest matches in the name; a column filter (``{name} : …``) on the
  tables above would walk a common word's whole match list to find the few
  rows that have it in the name, a name-only index holds just those.

Triggers, not hook calls, so every write path (REST, UI, scans, cascades,
raw SQL) keeps the index exact.  Prefix indexes for 2 and 3 characters keep
short prefix queries fast.  On other databases nothing is created and search
falls back to ``LIKE``.
"""

from __future__ import annotations

from peewee import Database, SqliteDatabase
from playhouse.sqlite_ext import FTS5Model, SearchField

TOKENIZER = "unicode61 remove_diacritics 2"
PREFIXES = "2 3"


def _external(table: str) -> dict:
    return {"content": f"'{table}'", "content_rowid": "id", "prefix": PREFIXES, "tokenize": TOKENIZER}


class ModelSearch(FTS5Model):
    name = SearchField()
    description = SearchField()
    tags = SearchField()
    trigger_words = SearchField()
    creator = SearchField()

    class Meta:
        table_name = "model_search"
        options = {"prefix": PREFIXES, "tokenize": TOKENIZER}


class FileSearch(FTS5Model):
    original_name = SearchField()

    class Meta:
        table_name = "file_search"
        options = _external("model_file")


class UserSearch(FTS5Model):
    username = SearchField()
    bio = SearchField()

    class Meta:
        table_name = "user_search"
        options = _external("user")


class ImageSearch(FTS5Model):
    prompt = SearchField()

    class Meta:
        table_name = "image_search"
        options = _external("image")


def _name_index(table: str, column: str) -> type[FTS5Model]:
    """The name-only table ``<table>_name_search`` over ``table.column`` (external content)."""
    meta = type("Meta", (), {"table_name": f"{table}_name_search", "options": _external(table)})
    return type(f"{table.title()}NameSearch", (FTS5Model,), {column: SearchField(), "Meta": meta, "__module__": __name__})


ModelNameSearch = _name_index("model", "name")
UserNameSearch = _name_index("user", "username")


INDEX_MODELS = [ModelSearch, FileSearch, UserSearch, ImageSearch]  # migration 2
NAME_INDEX_MODELS = [ModelNameSearch, UserNameSearch]  # migration 7
SEARCH_MODELS = INDEX_MODELS + NAME_INDEX_MODELS

# The model row's searchable text, for one model id (":id" is replaced by the trigger's row reference).
_MODEL_ROW = """
SELECT m.id, m.name, m.description,
       COALESCE((SELECT group_concat(t.name, ' ') FROM model_tag mt JOIN tag t ON t.id = mt.tag_id
                 WHERE mt.model_id = m.id), ''),
       replace(m.trigger_words, char(10), ' '),
       COALESCE((SELECT u.username FROM "user" u WHERE u.id = m.owner_id), '')
FROM model m WHERE m.id = :id"""


def _reindex_model(ref: str) -> str:
    return (f"DELETE FROM model_search WHERE rowid = {ref};\n"
            "INSERT INTO model_search(rowid, name, description, tags, trigger_words, creator)"
            + _MODEL_ROW.replace(":id", ref) + ";")


def _external_triggers(fts: str, table: str, columns: tuple[str, ...]) -> list[str]:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    delete = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new});"
    return [
        f'CREATE TRIGGER {fts}_ai AFTER INSERT ON "{table}" BEGIN {insert} END',
        f'CREATE TRIGGER {fts}_ad AFTER DELETE ON "{table}" BEGIN {delete} END',
        f'CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON "{table}" BEGIN {delete} {insert} END',
    ]


def _model_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER model_search_ai AFTER INSERT ON model BEGIN {_reindex_model('new.id')} END",
        "CREATE TRIGGER model_search_ad AFTER DELETE ON model BEGIN "
        "DELETE FROM model_search WHERE rowid = old.id; END",
        "CREATE TRIGGER model_search_au AFTER UPDATE OF name, description, trigger_words, owner_id ON model "
        f"BEGIN {_reindex_model('new.id')} END",
        f"CREATE TRIGGER model_search_tag_ai AFTER INSERT ON model_tag BEGIN {_reindex_model('new.model_id')} END",
        f"CREATE TRIGGER model_search_tag_ad AFTER DELETE ON model_tag BEGIN {_reindex_model('old.model_id')} END",
        'CREATE TRIGGER model_search_user_au AFTER UPDATE OF username ON "user" BEGIN '
        "UPDATE model_search SET creator = new.username WHERE rowid IN "
        "(SELECT id FROM model WHERE owner_id = new.id); END",
    ]


def search_ddl() -> list[str]:
    """The trigger statements (the tables themselves are created from the FTS5 models)."""
    return [
        *_model_triggers(),
        *_external_triggers("file_search", "model_file", ("original_name",)),
        *_external_triggers("user_search", "user", ("username", "bio")),
        *_external_triggers("image_search", "image", ("prompt",)),
    ]


def _create(db: Database, models: list[type[FTS5Model]], triggers: list[str]) -> bool:
    """FTS5 tables and their triggers; False (nothing done) on databases other than SQLite."""
    if not isinstance(db, SqliteDatabase):
        return False
    db.create_tables(models)
    for statement in triggers:
        db.execute_sql(statement)
    return True


def create_search_index(db: Database) -> None:
    """Migration 2: the FTS5 tables and triggers, filled from the rows already there (SQLite only)."""
    if not _create(db, INDEX_MODELS, search_ddl()):
        return
    db.execute_sql("INSERT INTO model_search(rowid, name, description, tags, trigger_words, creator)"
                   + _MODEL_ROW.replace("WHERE m.id = :id", ""))
    for model in (FileSearch, UserSearch, ImageSearch):
        model.rebuild()


def name_index_ddl() -> list[str]:
    """The triggers of the name-only tables."""
    return [*_external_triggers("model_name_search", "model", ("name",)),
            *_external_triggers("user_name_search", "user", ("username",))]


def create_name_index(db: Database) -> None:
    """Migration 7: the name-only FTS5 tables and triggers, filled from the rows already there (SQLite only)."""
    if _create(db, NAME_INDEX_MODELS, name_index_ddl()):
        for model in NAME_INDEX_MODELS:
            model.rebuild()
