"""Forward migrations bring an older database up to date without losing rows."""

from __future__ import annotations

from core.migrations import MIGRATIONS, open_store
from core.tables import AiModel, User
from tests.raw_sql import run_sql

DATABASES = ("sqlite", "postgresql")


def test_older_database_gains_the_model_preview_column(store_target):
    open_store(store_target).close()
    # make it look like a database from before migration 4
    run_sql(store_target, "ALTER TABLE model DROP COLUMN preview_path")
    run_sql(store_target, "DELETE FROM schema_version WHERE version = 4")
    run_sql(store_target, 'INSERT INTO "user" (username, username_key, username_skeleton, password_hash, bio,'
            " is_admin, is_banned, created_at) VALUES ('old', 'old', 'old', '!', '', ?, ?, '2026-01-01')",
            (False, False))
    store = open_store(store_target)
    try:
        assert store.schema_version() == max(MIGRATIONS)
        owner = User.get(User.username == "old")
        model = AiModel.create(owner=owner, name="m", type="checkpoint", base_model="SD 1.5",
                               preview_path="Stable-diffusion/m.preview.png")
        assert AiModel.get_by_id(model.id).preview_path == "Stable-diffusion/m.preview.png"
    finally:
        store.close()


def test_migrations_are_idempotent(store_target):
    open_store(store_target).close()
    store = open_store(store_target)
    try:
        assert store.migrate(MIGRATIONS) == max(MIGRATIONS)
    finally:
        store.close()


def test_family_base_model_names_become_civitai_names(store_target):
    """A library from before Civitai's names: "SD 1.x" models read as "SD 1.5", "SDXL" as "SDXL 1.0"."""
    store = open_store(store_target)
    try:
        owner = User.create(username="old", username_key="old", username_skeleton="old", password_hash="!")
        old_names = {"a": "SD 1.x", "b": "SD 2.x", "c": "SDXL", "d": "other"}
        ids = {name: AiModel.create(owner=owner, name=name, type="checkpoint", base_model=base).id
               for name, base in old_names.items()}
    finally:
        store.close()
    run_sql(store_target, "DELETE FROM schema_version WHERE version = 11")
    store = open_store(store_target)
    try:
        assert {name: AiModel.get_by_id(ids[name]).base_model for name in ids} == {
            "a": "SD 1.5", "b": "SD 2.1", "c": "SDXL 1.0", "d": "Other"}
    finally:
        store.close()
