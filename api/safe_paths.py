"""Serving files only from inside the folders the app owns."""

from __future__ import annotations

from pathlib import Path


def resolve_inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` with every symlink resolved, or None if that leaves ``root``."""
    root = root.resolve()
    try:
        path = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return path if path.is_relative_to(root) else None
