"""The drop-in folder: model files placed in ``models_dir/`` by hand join the library.

A scan walks the folder (any depth), skips what the library already holds,
hashes new files (every kind of ``core.library.file_hashes`` in one read,
cached by path + size + mtime in ``ScanCache`` so unchanged files are never
read again), validates and classifies them, and lists each as a model named
after its file or folder.  Files that disappeared take their models with them.
Files stay where they are.  Files listed before the library kept every hash
kind (schema migration 9) get theirs filled in by the next scan, each read once.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from core.library.a1111_sidecar import folder_type, read_sidecar
from core.library.base_models import OTHER_BASE
from core.library.file_hashes import FileHashes, hash_columns, hash_file
from core.library.modelfile_errors import ModelFileError
from core.library.modelfiles import autov2, inspect_model_file
from core.store import Store
from core.tables import AiModel, ModelFile, ModelVersion, ScanCache

SIDECAR_SUFFIXES = {".json", ".yaml", ".yml", ".txt", ".md", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".html",
                    ".civitai.info", ".gitkeep", ".part", ".py", ".log"}
Progress = Callable[[int, int, str], None]


@dataclass
class ScanReport:
    found: int = 0
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    hashed: int = 0  # files whose bytes were read to hash them
    filled_in: int = 0  # files listed before every hash kind was kept, whose hashes this scan added
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    def as_dict(self) -> dict:
        return {"found": self.found, "added": self.added, "removed": self.removed, "unchanged": self.unchanged,
                "hashed": self.hashed, "filled_in": self.filled_in, "skipped": [{"path": p, "reason": r} for p, r in self.skipped]}


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def find_candidates(models_dir: Path) -> Iterator[Path]:
    """Model files and diffusers folders under ``models_dir``; never follows links out of it."""
    root = models_dir.resolve()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not _is_hidden(d) and not d.endswith(".config"))
        if (here / "model_index.json").is_file() and here != root:
            dirs[:] = []
            yield here
            continue
        for name in sorted(files):
            path = here / name
            if _is_hidden(name) or any(name.lower().endswith(s) for s in SIDECAR_SUFFIXES):
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                continue
            yield path


class Scanner:
    """One scan at a time per app; holds the lock, nothing else."""

    def __init__(self, store: Store, models_dir: Path):
        self.store = store
        self.models_dir = models_dir.resolve()
        self._lock = threading.Lock()

    def rel(self, path: Path) -> str:
        return path.relative_to(self.models_dir).as_posix()

    def file_hashes(self, path: Path, report: ScanReport) -> FileHashes:
        """Every hash of one file, from the cache when path, size and mtime are unchanged (and the cache entry
        is younger than migration 9: an older one has only the SHA-256, so the file is read once more)."""
        rel = self.rel(path)
        stat = path.stat()
        cached = ScanCache.get_or_none(ScanCache.path == rel)
        if (cached and cached.size == stat.st_size and cached.mtime_ns == stat.st_mtime_ns
                and cached.blake3 is not None):
            return FileHashes(cached.sha256, cached.autov1, cached.autov3, cached.crc32, cached.blake3)
        hashes = hash_file(path)
        report.hashed += 1
        with self.store.write():
            ScanCache.remember(rel, stat.st_size, stat.st_mtime_ns, **asdict(hashes))
        return hashes

    def folder_hash(self, folder: Path, report: ScanReport) -> str:
        """A diffusers folder's identity: SHA-256 over its files' paths and hashes."""
        lines = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            lines.append(f"{path.relative_to(folder).as_posix()}:{self.file_hashes(path, report).sha256}\n")
        return hashlib.sha256("".join(lines).encode()).hexdigest()

    def scan(self, owner_id: int, progress: Progress | None = None) -> ScanReport:
        with self._lock:
            return self._scan(owner_id, progress or (lambda done, total, name: None))

    def _scan(self, owner_id: int, progress: Progress) -> ScanReport:
        report = ScanReport()
        rows = ModelFile.select(ModelFile, ModelVersion, AiModel).join(ModelVersion).join(AiModel)
        known = {row.stored_path: row for row in rows}
        candidates = list(find_candidates(self.models_dir))
        report.found = len(candidates)
        seen: set[str] = set()
        for index, path in enumerate(candidates):
            rel = self.rel(path)
            progress(index, len(candidates), rel)
            seen.add(rel)
            if rel in known and self._unchanged(path, known[rel], report):
                report.unchanged += 1
                continue
            self._add(path, rel, owner_id, known.get(rel), report)
        report.removed = self._remove_missing(known, seen)
        report.filled_in = self._fill_in_hashes(report)
        with self.store.write():  # local files belong to whoever is the local owner now
            AiModel.update(owner=owner_id).where(AiModel.source == "local", AiModel.owner != owner_id).execute()
        progress(len(candidates), len(candidates), "")
        return report

    def _unchanged(self, path: Path, row: ModelFile, report: ScanReport) -> bool:
        if row.version.model.source != "local":
            return True  # uploads were hashed on the way in; they are not re-read
        digest = self.folder_hash(path, report) if path.is_dir() else self.file_hashes(path, report).sha256
        return digest == row.sha256

    def _add(self, path: Path, rel: str, owner_id: int, previous: ModelFile | None, report: ScanReport) -> None:
        try:
            info = inspect_model_file(path)
            columns = self._hash_columns(path, report)
        except ModelFileError as exc:
            report.skipped.append((rel, str(exc)))
            return
        digest = columns["sha256"]
        holder = ModelFile.get_or_none(ModelFile.sha256 == digest)
        if holder is not None and holder.stored_path != rel:
            report.skipped.append((rel, f"same file as {holder.stored_path} (already in the library)"))
            return
        sidecar = read_sidecar(path)
        kind = info.model_type if info.model_type != "other" else (folder_type(Path(rel)) or "other")
        base = info.base_model if info.base_model != OTHER_BASE else (sidecar.base_model or OTHER_BASE)
        with self.store.write():
            if previous is not None:  # the file at this path changed: replace its model
                AiModel.delete().where(AiModel.id == previous.version.model_id).execute()
            name = path.name if path.is_dir() else path.stem
            preview = sidecar.preview.relative_to(self.models_dir).as_posix() if sidecar.preview else None
            model = AiModel.create(owner=owner_id, name=name[:200], type=kind, base_model=base, source="local",
                                   description=sidecar.description, trigger_words="\n".join(sidecar.trigger_words),
                                   preview_path=preview)
            version = ModelVersion.create(model=model, name="local", base_model=base,
                                          default_weight=sidecar.default_weight)
            ModelFile.create(version=version, original_name=path.name, stored_path=rel,
                             size=info.size if path.is_dir() else path.stat().st_size, **columns,
                             format="diffusers" if path.is_dir() else "safetensors",
                             metadata=json.dumps(info.metadata), scan_result="found in models folder")
        report.added += 1

    def _hash_columns(self, path: Path, report: ScanReport) -> dict[str, str | None]:
        """A file's hash columns; a diffusers folder has only its SHA-256 over its files (and AutoV2)."""
        if path.is_dir():
            digest = self.folder_hash(path, report)
            return {"sha256": digest, "autov2": autov2(digest)}
        return hash_columns(self.file_hashes(path, report))

    def _fill_in_hashes(self, report: ScanReport) -> int:
        """Files listed before migration 9 have a SHA-256 and AutoV2 only: hash each once more for the other
        kinds.  A file whose bytes no longer match its SHA-256 is left alone (a local one is replaced by the
        walk before this; an upload's file is never changed by the site)."""
        rows = list(ModelFile.select(ModelFile, ModelVersion, AiModel).join(ModelVersion).join(AiModel)
                    .where(ModelFile.blake3.is_null(), ModelFile.format != "diffusers"))
        filled = 0
        for row in rows:
            path = self.models_dir / row.stored_path
            if not path.is_file():
                continue
            if row.version.model.source == "local":
                hashes = self.file_hashes(path, report)
            else:
                hashes = hash_file(path)
                report.hashed += 1
            if hashes.sha256 != row.sha256:
                continue
            with self.store.write():
                ModelFile.update(**hash_columns(hashes)).where(ModelFile.id == row.id).execute()
            filled += 1
        return filled

    def _remove_missing(self, known: dict[str, ModelFile], seen: set[str]) -> int:
        """Models of local files that are gone; uploads never disappear this way."""
        removed = 0
        for rel, row in known.items():
            if rel in seen or (self.models_dir / rel).exists():
                continue
            model = row.version.model
            if model.source != "local":
                continue
            with self.store.write():
                AiModel.delete().where(AiModel.id == model.id).execute()
                ScanCache.delete().where(ScanCache.path == rel).execute()
            removed += 1
        return removed
