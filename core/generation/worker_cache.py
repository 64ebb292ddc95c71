"""A generation replica's model files, found by content hash: nothing is read from the web server's disk.

Where a file of a run is looked for, in order:

1. the replica's own content-addressed cache (``--worker-cache-dir``: ``ab/abcdef….safetensors``, least recently
   used files removed past ``--worker-cache-gb``);
2. a shared models folder mounted on the worker (``--worker-models-dir``, the site's ``models_dir`` on NFS or a
   bucket mount), at the file's stored path, when its size matches;
3. the site itself: ``GET /api/v1/worker/files/{sha256}`` with the run's grant, resumed where a broken download
   stopped (HTTP Range), and used only once its SHA-256 matches (a mismatch is deleted and refused).

A single-file checkpoint with its own configs folder (``<name>.config/``) gets that folder too, beside the cached
file, so ``core.pipeline.find_config_dir`` finds it as on the site. Replicas sharing a cache folder on one machine
download each file once (a lock per hash).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.generation.backend import FileRef

CHUNK = 1024 * 1024
DOWNLOAD_TRIES = 3
GRANT_HEADER = "X-Worker-Grant"
NO_CONFIG = ".noconfig"  # marks a cached checkpoint whose site copy has no configs folder


class FileMismatch(ValueError):
    """A downloaded file whose SHA-256 is not the one the run names: refused and deleted."""


class FileRefused(ValueError):
    """The site would not give the file for this run (no such file that the run's user may use)."""


@dataclass(frozen=True)
class SiteSource:
    """Where and how a replica downloads one file: the site's base URL and the file's grant for this run."""

    site_url: str
    grant: str


class WorkerFileCache:
    def __init__(self, root: Path, max_bytes: int, models_dir: Path | None = None, timeout_s: float = 60):
        self.root, self.max_bytes, self.models_dir, self.timeout_s = Path(root), max_bytes, models_dir, timeout_s
        self.downloads = 0  # files fetched from the site (the Admin tab and the tests read it)

    def local_path(self, ref: FileRef, source: SiteSource | None, with_config: bool = False) -> Path:
        """A path on this machine holding exactly the file ``ref`` names (and its configs folder, if asked)."""
        shared = self._shared(ref)
        if shared is not None:
            return shared
        cached = self._cached(ref.sha256)
        with self._locked(ref.sha256):
            if not cached.is_file():
                if source is None:
                    raise FileRefused(f"{ref.name or ref.sha256} is not on this worker and no site to fetch it from")
                self._download(ref, source, cached)
                self._evict(keep=cached)
            if with_config and source is not None:
                self._fetch_config(ref, source, cached)
        os.utime(cached)  # the least recently used files go first
        return cached

    # ---- where files are
    def _cached(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.safetensors"

    def _shared(self, ref: FileRef) -> Path | None:
        if self.models_dir is None or not ref.stored_path:
            return None
        path = Path(self.models_dir) / ref.stored_path
        return path if path.is_file() and path.stat().st_size == ref.size else None

    @contextmanager
    def _locked(self, sha256: str):
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{sha256}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    # ---- fetching
    def _request(self, source: SiteSource, route: str, sha256: str, start: int = 0):
        request = urllib.request.Request(f"{source.site_url.rstrip('/')}/api/v1/worker/{route}/{sha256}",
                                         headers={GRANT_HEADER: source.grant})
        if start:
            request.add_header("Range", f"bytes={start}-")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403, 404):
                raise FileRefused(f"the site refused the file {sha256[:10]}… for this run ({exc.code}: "
                                  f"{_error_text(exc)})") from None
            raise

    def _download(self, ref: FileRef, source: SiteSource, target: Path) -> None:
        partial = self.root / ".partial" / f"{ref.sha256}.part"
        partial.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, DOWNLOAD_TRIES + 1):
            try:
                self._continue(ref, source, partial)
                break
            except (urllib.error.URLError, OSError, TimeoutError):
                if attempt == DOWNLOAD_TRIES:
                    raise
                time.sleep(attempt)
        if _sha256_of(partial) != ref.sha256:
            partial.unlink()
            raise FileMismatch(f"the download of {ref.name or 'a file'} does not match its SHA-256 "
                               f"({ref.sha256[:10]}…): it was refused and deleted")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, target)
        self.downloads += 1

    def _continue(self, ref: FileRef, source: SiteSource, partial: Path) -> None:
        """Download the rest of the file after what ``partial`` already holds."""
        start = partial.stat().st_size if partial.is_file() else 0
        if start >= ref.size:
            start = 0
        with self._request(source, "files", ref.sha256, start) as response:
            mode = "ab" if start and response.status == 206 else "wb"
            with open(partial, mode) as out:
                shutil.copyfileobj(response, out, CHUNK)

    def _fetch_config(self, ref: FileRef, source: SiteSource, cached: Path) -> None:
        folder, marker = cached.with_suffix(".config"), cached.with_suffix(NO_CONFIG)
        if (folder / "model_index.json").is_file() or marker.exists():
            return
        try:
            with self._request(source, "configs", ref.sha256) as response:
                data = response.read()
        except FileRefused:  # no configs folder on the site: the shipped configs fit this checkpoint
            marker.touch()
            return
        staging = folder.with_suffix(".config-new")
        shutil.rmtree(staging, ignore_errors=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(staging, filter="data")
        os.replace(staging, folder)

    def _evict(self, keep: Path) -> None:
        """Remove the least recently used cached files until the cache fits its size (never ``keep``)."""
        files = sorted((p for p in self.root.glob("??/*.safetensors")), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        for path in files:
            if total <= self.max_bytes:
                return
            if path == keep:
                continue
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
            shutil.rmtree(path.with_suffix(".config"), ignore_errors=True)
            path.with_suffix(NO_CONFIG).unlink(missing_ok=True)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _error_text(exc: urllib.error.HTTPError) -> str:
    import json

    try:
        return json.loads(exc.read().decode()).get("error", exc.reason)
    except (ValueError, AttributeError, OSError):
        return str(exc.reason)
