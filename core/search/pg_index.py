"""The full-text index on PostgreSQL (migration 13): ``tsvector`` documents kept in step by the database, GIN
indexes over them, and the two SQL functions that read text the way SQLite's FTS5 tables do.

- ``va_words(text)``: lower case, accents removed (``unaccent``), every run of other than letters and digits a
  space — FTS5's ``unicode61 remove_diacritics 2`` tokenizer, so ``model_v2.safetensors`` is the words
  ``model v2 safetensors`` on both databases (PostgreSQL's own parser would read it as one file name).
- ``va_tsquery(words, prefix, in_weight)``: the ``tsquery`` of a search's words (already cut by
  ``core.search.fts.terms``: letters and digits only, so never syntax), every word required, the last one a
  prefix (``:*``) when ``prefix`` and it has two or more letters, and with ``in_weight`` (``'A'``) in the name alone.
- ``model_doc``: one row per model, its ``doc`` weighted like FTS5's bm25 columns — name ``A``, tags and
  trigger words ``B``, the creator's name ``C``, the description ``D`` — rebuilt by triggers on ``model``,
  ``model_tag`` and ``"user"`` (its text comes from several tables).
- ``model_file.search``, ``"user".search`` (name ``A``, bio ``D``) and ``image.search``: generated columns.

``pg_trgm``'s GIN index on model names lets a part of a word match where a word's start does not (``core.search
.postgres`` asks it only when the words find nothing).
"""

from __future__ import annotations

from peewee import Database, PostgresqlDatabase

FUNCTIONS = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE OR REPLACE FUNCTION va_words(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
       $$ SELECT regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, coalesce(value, ''))),
                                '[^[:alnum:]]+', ' ', 'g') $$""",
    """CREATE OR REPLACE FUNCTION va_tsquery(words text[], prefix boolean, in_weight text DEFAULT '')
       RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
         SELECT to_tsquery('simple', coalesce(string_agg(
                  quote_literal(lexeme)
                  || CASE WHEN prefix AND n = cardinality(words) AND length(lexeme) >= 2 THEN ':*' || in_weight
                          WHEN in_weight <> '' THEN ':' || in_weight ELSE '' END, ' & ' ORDER BY n), ''))
         FROM unnest(words) WITH ORDINALITY AS w(word, n), LATERAL (SELECT trim(va_words(word)) AS lexeme) AS l
         WHERE lexeme <> '' AND position(' ' in lexeme) = 0 $$""",
]

MODEL_DOC = [
    """CREATE TABLE IF NOT EXISTS model_doc (
         model_id integer PRIMARY KEY REFERENCES model (id) ON DELETE CASCADE, doc tsvector NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS model_doc_doc ON model_doc USING gin (doc)",
    """CREATE OR REPLACE FUNCTION va_model_doc(model integer) RETURNS void LANGUAGE sql AS $$
         INSERT INTO model_doc (model_id, doc)
         SELECT m.id,
                setweight(to_tsvector('simple', va_words(m.name)), 'A')
                || setweight(to_tsvector('simple', va_words(coalesce(
                     (SELECT string_agg(t.name, ' ') FROM model_tag mt JOIN tag t ON t.id = mt.tag_id
                      WHERE mt.model_id = m.id), '') || ' ' || m.trigger_words)), 'B')
                || setweight(to_tsvector('simple', va_words(u.username)), 'C')
                || setweight(to_tsvector('simple', va_words(m.description)), 'D')
         FROM model m JOIN "user" u ON u.id = m.owner_id WHERE m.id = model
         ON CONFLICT (model_id) DO UPDATE SET doc = excluded.doc $$""",
    """CREATE OR REPLACE FUNCTION va_rebuild_model_docs() RETURNS void LANGUAGE sql AS $$
         INSERT INTO model_doc (model_id, doc)
         SELECT m.id,
                setweight(to_tsvector('simple', va_words(m.name)), 'A')
                || setweight(to_tsvector('simple', va_words(coalesce(t.names, '') || ' ' || m.trigger_words)), 'B')
                || setweight(to_tsvector('simple', va_words(u.username)), 'C')
                || setweight(to_tsvector('simple', va_words(m.description)), 'D')
         FROM model m JOIN "user" u ON u.id = m.owner_id
         LEFT JOIN (SELECT mt.model_id, string_agg(tg.name, ' ') AS names FROM model_tag mt
                    JOIN tag tg ON tg.id = mt.tag_id GROUP BY mt.model_id) AS t ON t.model_id = m.id
         ON CONFLICT (model_id) DO UPDATE SET doc = excluded.doc $$""",
    """CREATE OR REPLACE FUNCTION va_model_doc_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF TG_TABLE_NAME = 'model' THEN PERFORM va_model_doc(NEW.id);
           ELSIF TG_TABLE_NAME = 'model_tag' THEN
             PERFORM va_model_doc(CASE WHEN TG_OP = 'DELETE' THEN OLD.model_id ELSE NEW.model_id END);
           ELSE PERFORM va_model_doc(m.id) FROM model m WHERE m.owner_id = NEW.id;
           END IF;
           RETURN NULL;
         END $$""",
    """CREATE OR REPLACE TRIGGER model_doc_model AFTER INSERT OR UPDATE OF name, description, trigger_words, owner_id
       ON model FOR EACH ROW EXECUTE FUNCTION va_model_doc_trigger()""",
    """CREATE OR REPLACE TRIGGER model_doc_tag AFTER INSERT OR DELETE ON model_tag
       FOR EACH ROW EXECUTE FUNCTION va_model_doc_trigger()""",
    """CREATE OR REPLACE TRIGGER model_doc_user AFTER UPDATE OF username ON "user"
       FOR EACH ROW EXECUTE FUNCTION va_model_doc_trigger()""",
    "SELECT va_rebuild_model_docs()",
    "CREATE INDEX IF NOT EXISTS model_name_trgm ON model USING gin (va_words(name) gin_trgm_ops)",
]

GENERATED = [
    ('model_file', "to_tsvector('simple', va_words(original_name))"),
    ('"user"', "setweight(to_tsvector('simple', va_words(username)), 'A')"
               " || setweight(to_tsvector('simple', va_words(bio)), 'D')"),
    ("image", "to_tsvector('simple', va_words(prompt))"),
]


def _generated_columns() -> list[str]:
    statements = []
    for table, expression in GENERATED:
        name = table.strip('"')
        statements += [f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS search tsvector "
                       f"GENERATED ALWAYS AS ({expression}) STORED",
                       f"CREATE INDEX IF NOT EXISTS {name}_search ON {table} USING gin (search)"]
    return statements


MODEL_DOC_TRIGGERS = ("model_doc_model ON model", "model_doc_tag ON model_tag", 'model_doc_user ON "user"')


def create_postgres_search(db: Database) -> None:
    """Migration 13 (PostgreSQL only; SQLite has its FTS5 tables since migrations 2 and 7)."""
    if not isinstance(db, PostgresqlDatabase):
        return
    for statement in FUNCTIONS + MODEL_DOC + _generated_columns():
        db.execute_sql(statement)
