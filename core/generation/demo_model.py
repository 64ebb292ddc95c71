"""The project's own demo checkpoint ("Visionary Shapes"), listed on every instance.

Its weights ship in ``models_builtin/`` beside a configs-only folder.  At start
they are linked (or copied) into ``models_dir/.builtin/`` so the demo goes
through exactly the same library rows, downloads and single-file loader as
any user's checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from core.accounts.accounts import site_account
from core.library.file_hashes import hash_columns, hash_file
from core.library.modelfiles import inspect_model_file
from core.store import Store
from core.tables import AiModel, ModelFile, ModelVersion, ScanCache

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "models_builtin"
DEMO_FILE = "visionary-shapes-demo.safetensors"
DEMO_NAME = "Visionary Shapes (demo)"
DEMO_DESCRIPTION = (
    "A tiny latent diffusion model trained by this project on synthetic pictures of simple shapes. "
    "It draws circles, squares and triangles in named colours on plain backgrounds, at 64×64, "
    "in about a second on a CPU.\n\nTry: `a red circle on a blue background`.")
TARGET = ".builtin"


def _same_stat(a: Path, b: Path) -> bool:
    sa, sb = a.stat(), b.stat()
    return sa.st_size == sb.st_size and sa.st_mtime_ns == sb.st_mtime_ns


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and (os.path.samefile(source, target) or _same_stat(source, target)):
        return
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _place(models_dir: Path, builtin_dir: Path) -> Path:
    source = builtin_dir / DEMO_FILE
    config = builtin_dir / (Path(DEMO_FILE).stem + ".config")
    target = models_dir / TARGET / DEMO_FILE
    _link_or_copy(source, target)
    for path in config.rglob("*"):
        if path.is_file():
            _link_or_copy(path, models_dir / TARGET / config.name / path.relative_to(config))
    return target


def demo_available(builtin_dir: Path = BUILTIN_DIR) -> bool:
    return (builtin_dir / DEMO_FILE).is_file()


def install_demo_model(store: Store, models_dir: Path, builtin_dir: Path = BUILTIN_DIR) -> int | None:
    """List the demo checkpoint (once); returns its model id, or None when this checkout has no demo weights."""
    if not demo_available(builtin_dir):
        return None
    target = _place(models_dir, builtin_dir)
    rel = target.relative_to(models_dir).as_posix()
    hashes = hash_file(target)
    digest = hashes.sha256
    existing = ModelFile.get_or_none(ModelFile.stored_path == rel)
    if existing is not None and existing.sha256 == digest:
        return existing.version.model_id
    installed = ScanCache.get_or_none(ScanCache.path == rel)
    if existing is None and installed is not None and installed.sha256 == digest:
        return None  # an admin deleted the demo: it stays deleted until new demo weights ship
    info = inspect_model_file(target)
    owner = site_account(store)
    with store.write():
        if existing is not None:  # the project shipped new demo weights
            AiModel.delete().where(AiModel.id == existing.version.model_id).execute()
        model = AiModel.create(owner=owner.id, name=DEMO_NAME, type="checkpoint", base_model=info.base_model,
                               description=DEMO_DESCRIPTION, trigger_words="", visibility="public", source="demo",
                               is_demo=True)
        version = ModelVersion.create(model=model, name="demo", base_model=info.base_model)
        ModelFile.create(version=version, original_name=DEMO_FILE, stored_path=rel, size=target.stat().st_size,
                         **hash_columns(hashes), format="safetensors",
                         metadata=json.dumps(info.metadata), scan_result="shipped with Visionary Art")
        stat = target.stat()
        ScanCache.remember(rel, stat.st_size, stat.st_mtime_ns, **asdict(hashes))
    return model.id
