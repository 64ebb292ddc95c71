"""The layer rule holds, and breaking it fails `make test`: each wrong-way import, planted in a copy of the code,
breaks the import-linter contract that names it (docs/ARCHITECTURE.md, pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ui", "api", "community", "core")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_of_the_code(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.json",
                                                                                          "pipeline_configs"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=where, capture_output=True, text=True,
                          timeout=120)


def test_the_code_keeps_every_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "planted", "contract"), [
    ("core/errors.py", "import community.comments", "Front ends over community over core BROKEN"),
    ("core/library/library.py", "import core.generation.service", "over the base BROKEN"),
    ("ui/pager.py", "import api.errors", "Front ends over community over core BROKEN"),
    ("api/errors.py", "import ui.pager", "Front ends over community over core BROKEN"),
    ("core/store.py", "import core.library.library", "at the bottom of core BROKEN"),
    ("community/posts.py", "import community.picture_posts",  # picture_posts imports posts: a loop
     "No import loops between sibling modules or packages BROKEN"),
    ("core/library/scanner.py", "import gradio", "Domain code knows nothing of Gradio or HTTP BROKEN"),
    ("api/models.py", "import torch", "torch and diffusers only where images are made and pickles converted BROKEN"),
])
def test_a_wrong_way_import_breaks_its_contract(tmp_path, module, planted, contract):
    copy = _copy_of_the_code(tmp_path)
    with (copy / module).open("a") as source:
        source.write(f"\n{planted}  # planted by the test\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert contract in result.stdout, result.stdout
