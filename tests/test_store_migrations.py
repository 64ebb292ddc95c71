"""Forward migrations bring an older database up to date without losing rows."""

from __future__ import annotations

import sqlite3

from core.migrations import MIGRATIONS, open_store
from core.store import AiModel, User


def test_older_database_gains_the_model_preview_column(tmp_path):
    path = tmp_path / "v.db"
    open_store(str(path)).close()
    with sqlite3.connect(path) as conn:  # make it look like a database from before migration 4
        conn.execute("ALTER TABLE model DROP COLUMN preview_path")
        conn.execute("DELETE FROM schema_version WHERE version = 4")
        conn.execute("INSERT INTO user (username, username_key, username_skeleton, password_hash, bio, is_admin,"
                     " is_banned, created_at) VALUES ('old', 'old', 'old', '!', '', 0, 0, '2026-01-01')")
    store = open_store(str(path))
    try:
        assert store.schema_version() == max(MIGRATIONS)
        owner = User.get(User.username == "old")
        model = AiModel.create(owner=owner, name="m", type="checkpoint", base_model="SD 1.5",
                               preview_path="Stable-diffusion/m.preview.png")
        assert AiModel.get_by_id(model.id).preview_path == "Stable-diffusion/m.preview.png"
    finally:
        store.close()


def test_migrations_are_idempotent(tmp_path):
    path = str(tmp_path / "v.db")
    open_store(path).close()
    store = open_store(path)
    try:
        assert store.migrate(MIGRATIONS) == max(MIGRATIONS)
    finally:
        store.close()


def test_family_base_model_names_become_civitai_names(tmp_path):
    """A library from before Civitai's names: "SD 1.x" models read as "SD 1.5", "SDXL" as "SDXL 1.0"."""
    path = tmp_path / "v.db"
    store = open_store(str(path))
    try:
        owner = User.create(username="old", username_key="old", username_skeleton="old", password_hash="!")
        old_names = {"a": "SD 1.x", "b": "SD 2.x", "c": "SDXL", "d": "other"}
        ids = {name: AiModel.create(owner=owner, name=name, type="checkpoint", base_model=base).id
               for name, base in old_names.items()}
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM schema_version WHERE version = 11")
    store = open_store(str(path))
    try:
        assert {name: AiModel.get_by_id(ids[name]).base_model for name in ids} == {
            "a": "SD 1.5", "b": "SD 2.1", "c": "SDXL 1.0", "d": "Other"}
    finally:
        store.close()
