"""Files under ``outputs/``: atomic writes with server-generated names, removal."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path


def write_png(outputs_dir: Path, data: bytes, label: str = "upload") -> str:
    """Write PNG bytes to ``outputs/<date>/<time>-<label>-<random>.png`` atomically; the path relative to outputs."""
    day = dt.date.today().isoformat()
    folder = outputs_dir / day
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{dt.datetime.now():%H%M%S}-{label}-{secrets.token_hex(4)}.png"
    temp = folder / f".{name}.part"
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, folder / name)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return f"{day}/{name}"


def remove_output(outputs_dir: Path, relative: str) -> None:
    """Delete a file under outputs (never anything outside it)."""
    root = outputs_dir.resolve()
    path = (root / relative).resolve()
    if path.is_relative_to(root) and path.is_file():
        path.unlink(missing_ok=True)
