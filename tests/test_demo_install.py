"""The shipped demo checkpoint joins every library once, owned by the site, and respects deletion."""

from __future__ import annotations

import shutil

from core.generation.demo_model import DEMO_FILE, DEMO_NAME, install_demo_model
from core.library.library import ModelQuery, list_models
from core.library.library_edit import delete_model
from core.migrations import open_store
from tests import sample_files
from tests.community_helpers import account_in


def fake_builtin(folder):
    """A stand-in for models_builtin/: a checkpoint file and its configs folder."""
    sample_files.sd15_checkpoint(folder / DEMO_FILE)
    (folder / "visionary-shapes-demo.config").mkdir()
    (folder / "visionary-shapes-demo.config" / "model_index.json").write_text("{}")
    return folder


def test_demo_is_listed_once_and_stays_deleted(tmp_path):
    builtin = fake_builtin(tmp_path / "builtin")
    models_dir = tmp_path / "models"
    store = open_store(str(tmp_path / "v.db"))
    try:
        model_id = install_demo_model(store, models_dir, builtin)
        assert install_demo_model(store, models_dir, builtin) == model_id
        listing = list_models(None, ModelQuery()).items
        assert [(m.name, m.is_demo, m.owner, m.type) for m in listing] == [(DEMO_NAME, True, "site", "checkpoint")]
        assert (models_dir / ".builtin" / "visionary-shapes-demo.config" / "model_index.json").is_file()

        admin = account_in(store, "admin_one", "a long password")
        assert admin.is_admin  # the site account does not count as the first account
        delete_model(store, models_dir, admin, model_id)
        assert install_demo_model(store, models_dir, builtin) is None
        assert list_models(None, ModelQuery()).items == ()

        shutil.rmtree(builtin)
        fake_builtin_with_new_weights = sample_files.sd15_checkpoint(builtin / DEMO_FILE, seed=5).parent
        assert install_demo_model(store, models_dir, fake_builtin_with_new_weights) is not None
    finally:
        store.close()


def test_no_demo_weights_means_no_demo(tmp_path):
    store = open_store(str(tmp_path / "v.db"))
    try:
        assert install_demo_model(store, tmp_path / "models", tmp_path / "empty") is None
    finally:
        store.close()
