"""The one way a model file enters the library.

Every source (REST upload, Gradio upload, drop-in folder, Hugging Face import)
ends here:

1. bytes stream into a temp file under ``models_dir/.incoming/`` (same file
   system as the final place, so the final move is a rename), hashed once on
   the way, with the size limit and a free-disk check;
2. the content decides the format (never the extension); safetensors are
   validated, pickles are refused or converted in a sandboxed process;
3. type and base model are detected from tensor names and shapes;
4. a duplicate SHA-256 is refused, naming the model that holds it;
5. fsync, then an atomic rename to ``models_dir/<type>/<generated name>``.

The caller writes the database rows; if that fails it calls ``discard``.  No
step leaves a partial file behind.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from core.errors import Conflict, InsufficientStorage, InvalidInput, TooLarge
from core.library.file_hashes import FileHasher, FileHashes, hash_file
from core.library.modelfile_errors import PICKLE_FORMATS, ModelFileError
from core.library.modelfiles import ModelFileInfo, inspect_model_file

INCOMING = ".incoming"
HUB_PREFIX = "hub-"  # temp folders of Hugging Face imports, inside a process's staging folder
PROCESS_LOCK = "owner.lock"  # held (flock) by the process whose staging folder it is in
GRADIO_FOLDER = "gradio"  # Gradio's own temp folder inside INCOMING (GRADIO_TEMP_DIR), shared, Gradio's to manage
DISK_MARGIN = 64 * 1024 * 1024
CHUNK = 1 << 20
WRITEBACK_BYTES = 32 << 20  # an upload starts the disk writing every this many bytes (see UploadSink)


@dataclass(frozen=True)
class StagedFile:
    """Bytes received and hashed, waiting in the incoming folder."""

    path: Path
    hashes: FileHashes
    size: int
    original_name: str

    @property
    def sha256(self) -> str:
        return self.hashes.sha256


@dataclass(frozen=True)
class StoredFile:
    """A validated file at its final place; ``stored_path`` is relative to models_dir."""

    stored_path: str
    original_name: str
    size: int
    hashes: FileHashes
    info: ModelFileInfo
    scan_result: str = "safe"
    absolute: Path = field(repr=False, default=Path())

    @property
    def sha256(self) -> str:
        return self.hashes.sha256

    @property
    def autov2(self) -> str:
        return self.hashes.autov2


def safe_original_name(name: str | None) -> str:
    """The client's file name, kept as data only: no folders, no control characters, never "." or ".."."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if ch.isprintable())[:255].strip()
    return base if base not in ("", ".", "..") else "model.safetensors"


def incoming_dir(models_dir: Path) -> Path:
    """This process's own staging folder inside ``models_dir/.incoming`` (``<host>-<pid>``): app processes that
    share one models folder, on one machine or several, never touch each other's partial files."""
    path = models_dir / INCOMING / f"{socket.gethostname()}-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class IncomingClaim:
    """This process's staging folder, locked (``flock``) for as long as the process runs."""

    folder: Path
    fd: int

    def release(self) -> None:
        os.close(self.fd)


def _locked(lock_file: Path) -> int | None:
    """An open, exclusively locked descriptor of ``lock_file``; None while another process holds it."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def claim_incoming(models_dir: Path) -> tuple[IncomingClaim, int]:
    """Take this process's staging folder and remove what interrupted runs left (a crash, a kill -9), called
    at start-up before anything is served: the folders of processes that no longer hold their lock, whatever
    this process's folder held before (its pid was used by an earlier run), and the loose partial files of
    versions before per-process folders. A folder whose process still runs (another app process sharing the
    models folder) is left alone, and so is Gradio's own temp folder. Returns the claim and how many were
    removed."""
    folder = incoming_dir(models_dir)
    fd = _locked(folder / PROCESS_LOCK)
    if fd is None:
        raise RuntimeError(f"another process already holds {folder}")
    removed = 0
    for path in folder.iterdir():
        if path.name != PROCESS_LOCK:
            _remove(path)
            removed += 1
    for path in folder.parent.iterdir():
        if path == folder or path.name == GRADIO_FOLDER:
            continue
        if path.is_dir() and (path / PROCESS_LOCK).exists():
            try:
                other = _locked(path / PROCESS_LOCK)
            except FileNotFoundError:  # another starting process removed it first
                continue
            if other is not None:  # its process is gone
                os.close(other)
                removed += sum(1 for item in path.iterdir() if item.name != PROCESS_LOCK)
                shutil.rmtree(path, ignore_errors=True)
        elif (path.is_file() and path.suffix == ".part") or (path.is_dir() and path.name.startswith(HUB_PREFIX)):
            _remove(path)  # left by a version before per-process folders
            removed += 1
    return IncomingClaim(folder, fd), removed


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def check_free_space(folder: Path, expected_bytes: int | None) -> None:
    free = shutil.disk_usage(folder).free
    if expected_bytes is not None and expected_bytes + DISK_MARGIN > free:
        raise InsufficientStorage(
            f"not enough free disk space: the file needs {expected_bytes / 1e9:.2f} GB, "
            f"{free / 1e9:.2f} GB are free in the models folder")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class UploadSink:
    """Write-side of an upload: ``write`` chunks, then ``finish`` (or ``discard``)."""

    def __init__(self, models_dir: Path, original_name: str, max_bytes: int, expected_bytes: int | None = None):
        folder = incoming_dir(models_dir)
        if expected_bytes is not None and expected_bytes > max_bytes:
            raise TooLarge(f"the file is larger than this site's upload limit of {max_bytes / 1024**3:.1f} GB")
        check_free_space(folder, expected_bytes)
        self.original_name = safe_original_name(original_name)
        self.max_bytes = max_bytes
        fd, name = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=".part")
        self.path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._hasher = FileHasher()
        self.size = 0
        self._written_back = 0  # bytes handed to the disk's writeback so far

    def write(self, chunk: bytes | memoryview) -> None:
        if self.size + len(chunk) > self.max_bytes:
            self.discard()
            raise TooLarge(f"the file is larger than this site's upload limit of {self.max_bytes / 1024**3:.1f} GB")
        try:
            self._hasher.update(chunk)
            self._file.write(chunk)
            self.size += len(chunk)
            if self.size - self._written_back >= WRITEBACK_BYTES:
                self._start_writeback()
        except OSError as exc:
            self.discard()
            if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise InsufficientStorage("the disk is full: the upload was not stored") from None
            raise

    def _start_writeback(self) -> None:
        """Have the kernel start writing what came so far to the disk, without waiting: the disk works while
        the rest arrives, the final fsync waits for the tail only, and the upload does not fill the page cache
        with a gigabyte of dirty pages (on Linux, ``POSIX_FADV_DONTNEED`` starts writeback of a range, then drops
        its clean pages)."""
        if hasattr(os, "posix_fadvise"):
            self._file.flush()
            os.posix_fadvise(self._file.fileno(), self._written_back, self.size - self._written_back,
                             os.POSIX_FADV_DONTNEED)
        self._written_back = self.size

    def finish(self) -> StagedFile:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as exc:
            self.discard()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientStorage("the disk is full: the upload was not stored") from None
            raise
        if self.size == 0:
            self.discard()
            raise InvalidInput("the uploaded file is empty")
        return StagedFile(self.path, self._hasher.result(), self.size, self.original_name)

    def discard(self) -> None:
        self._hasher.close()
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def stage_stream(models_dir: Path, source: BinaryIO | Iterable[bytes], original_name: str, max_bytes: int,
                 expected_bytes: int | None = None) -> StagedFile:
    """Stream a file object or an iterable of chunks into the incoming folder."""
    sink = UploadSink(models_dir, original_name, max_bytes, expected_bytes)
    try:
        if hasattr(source, "read"):
            while chunk := source.read(CHUNK):
                sink.write(chunk)
        else:
            for chunk in source:
                sink.write(chunk)
    except BaseException:
        sink.discard()
        raise
    return sink.finish()


def stage_local_file(models_dir: Path, path: Path, original_name: str, max_bytes: int) -> StagedFile:
    """A file the server already has (a Gradio upload's temp file): move it in if possible, else copy."""
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLarge(f"the file is larger than this site's upload limit of {max_bytes / 1024**3:.1f} GB")
    folder = incoming_dir(models_dir)
    target = folder / f"upload-{secrets.token_hex(8)}.part"
    try:
        os.rename(path, target)  # same file system: no bytes copied
    except OSError:
        with open(path, "rb") as src:
            return stage_stream(models_dir, src, original_name, max_bytes, size)
    return StagedFile(target, hash_file(target), size, safe_original_name(original_name))


# sha256 -> the holding model as the uploader may see it: None (no holder), "" (a model hidden from them), or
# its description.
DuplicateLookup = Callable[[str], "str | None"]


def refuse_duplicate(sha256: str, holder_of: DuplicateLookup) -> None:
    holder = holder_of(sha256)
    if holder is None:
        return
    raise Conflict(f"this file is already in the library: it belongs to the model {holder}" if holder
                   else "this file is already in the library")


def _inspect(staged: StagedFile, allow_pickle: bool) -> tuple[StagedFile, ModelFileInfo, str]:
    """Validate and classify; a pickle is refused, or converted when the site allows it."""
    try:
        info = inspect_model_file(staged.path, allow_pickle=allow_pickle)
    except ModelFileError as exc:
        raise InvalidInput(str(exc).replace(staged.path.name, staged.original_name)) from None
    if info.format not in PICKLE_FORMATS:
        return staged, info, "safe"
    from core.library.pickle_import import convert_pickle_to_safetensors

    original_format = info.format
    converted = staged.path.with_name(staged.path.stem + "-converted.part")
    try:
        result = convert_pickle_to_safetensors(staged.path, converted)  # re-validated and re-hashed
        info = inspect_model_file(converted)
    except ModelFileError as exc:
        converted.unlink(missing_ok=True)
        raise InvalidInput(f"'{staged.original_name}' could not be converted to safetensors: {exc}") from None
    staged.path.unlink(missing_ok=True)
    name = Path(staged.original_name).with_suffix(".safetensors").name
    converted_staged = StagedFile(converted, result.hashes, result.size, name)
    return converted_staged, info, f"converted from {original_format} to safetensors in a sandbox"


def store_staged(models_dir: Path, staged: StagedFile, holder_of: DuplicateLookup,
                 allow_pickle: bool = False) -> StoredFile:
    """Steps 2-5 for a staged file; on any failure the staged file is removed."""
    try:
        refuse_duplicate(staged.sha256, holder_of)
        staged, info, scan_result = _inspect(staged, allow_pickle)
        refuse_duplicate(staged.sha256, holder_of)
        folder = models_dir / info.model_type
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{staged.hashes.autov2}-{secrets.token_hex(4)}.safetensors"
        os.rename(staged.path, final)
        _fsync_dir(folder)
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    return StoredFile(final.relative_to(models_dir).as_posix(), staged.original_name, staged.size, staged.hashes,
                      info, scan_result, final)


def discard(stored: StoredFile) -> None:
    """Undo ``store_staged`` when the database write that follows it fails."""
    stored.absolute.unlink(missing_ok=True)
