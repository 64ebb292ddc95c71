"""Text search: the full-text index and the query functions that the library, gallery and people listings call.

``core.search.engine`` is the one interface they call; it hands each question to SQLite's FTS5 (``fts``, over the
tables of ``index``) or PostgreSQL's full text (``postgres``, over the documents of ``pg_index``). The kinds of
things searched are named here.
"""

MODELS, FILES, USERS, IMAGES = "models", "files", "users", "images"
