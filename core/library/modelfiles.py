"""Model-file inspection and safety: format sniffing, validation, detection, hashing.

Plain Python, no web or database knowledge.  The format of a file is always
decided from its content, never from its extension, and nothing here ever
unpickles anything: pickles are recognised and refused (or handed to
`core.library.pickle_import`, which converts them in a sandboxed child process).

Public API (see each docstring):

* `sniff_format(path)` -> "safetensors" | "pickle" | "torch-zip" | "diffusers" | "unknown"
* `validate_safetensors(path)` -> `SafetensorsHeader` (from `core.library.safetensors_check`)
* `validate_diffusers_folder(path)` -> `DiffusersFolder`
* `detect_model(shapes, metadata)` -> (model_type, base_model) (from `core.library.model_kind`)
* `inspect_model_file(path, allow_pickle=False)` -> `ModelFileInfo`
* `HashingWriter`, `copy_and_hash`, `sha256_file`, `autov2`
* `ModelFileError`, `PickleRefused`
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickletools
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from core.library.base_models import OTHER_BASE
from core.library.model_kind import (
    OTHER,
    detect_diffusers,
    detect_model,
)
from core.library.modelfile_errors import PICKLE_FORMATS, ModelFileError, PickleRefused
from core.library.safetensors_check import (
    MAX_HEADER_BYTES,
    SafetensorsHeader,
    validate_safetensors,
)

FORMATS = ("safetensors", "pickle", "torch-zip", "diffusers", "unknown")
DEFAULT_CHUNK = 1 << 20  # 1 MiB: large enough that hashing runs at full speed
_SNIFF_BYTES = 4096
_PICKLE_FIRST_BYTES = frozenset(b"\x80(}]c)")
_MAX_JSON_BYTES = 16 << 20


# --------------------------------------------------------------------------- sniffing

def sniff_format(path: str | os.PathLike) -> str:
    """Decide a file's (or folder's) format from its content.

    Returns ``safetensors`` (8-byte little-endian header length followed by a
    JSON object), ``pickle`` (raw pickle, any protocol), ``torch-zip`` (a zip
    holding a ``*.pkl`` such as ``archive/data.pkl``: also a pickle),
    ``diffusers`` (a folder with ``model_index.json``) or ``unknown``.
    Reads at most a few kilobytes and the zip directory; never unpickles.
    """
    path = Path(path)
    if path.is_dir():
        return "diffusers" if (path / "model_index.json").is_file() else "unknown"
    if path.exists() and not path.is_file():  # a FIFO or device would block or never end
        return "unknown"
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as e:
        raise ModelFileError(f"cannot read '{path.name}': {e.strerror or e}") from None
    if _looks_like_safetensors(head):
        return "safetensors"
    if head.startswith(b"PK\x03\x04"):
        return "torch-zip" if _zip_holds_pickle(path) else "unknown"
    if _looks_like_pickle(head):
        return "pickle"
    return "unknown"


def _looks_like_safetensors(head: bytes) -> bool:
    """A plausible header length (so text files never match) and then '{'.

    A header length beyond the file size still counts, so that a truncated
    upload gets the precise "header larger than the file" error.
    """
    if len(head) < 9 or head[8:9] != b"{":
        return False
    (size,) = struct.unpack("<Q", head[:8])
    return 2 <= size <= MAX_HEADER_BYTES


def _looks_like_pickle(head: bytes) -> bool:
    """Walk the first opcodes with `pickletools.genops`, which decodes but never executes.

    A pickle either reaches STOP within the sniffed bytes or parses cleanly for
    a good number of opcodes; text and binary junk fail within a few bytes.
    """
    if not head or head[0] not in _PICKLE_FIRST_BYTES:
        return False
    count = 0
    try:
        for opcode, arg, _pos in pickletools.genops(io.BytesIO(head)):
            count += 1
            if opcode.name == "PROTO" and not (isinstance(arg, int) and 2 <= arg <= 5):
                return False
            if opcode.name == "STOP" or count >= 8:
                return True
    except Exception:  # malformed or cut off at the end of the sniffed bytes
        return count >= 8
    return False


def _zip_holds_pickle(path: Path) -> bool:
    """Reads only the zip's central directory (no member is decompressed)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith(".pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


# --------------------------------------------------------------------------- diffusers folders

@dataclass(frozen=True)
class DiffusersFolder:
    """A validated diffusers pipeline folder.

    ``weights`` maps each safetensors file (path relative to the folder, with
    ``/``) to its header.  ``skipped_pickles`` lists pickled weight files that
    sit beside safetensors weights of the same component: they are never
    loaded (loaders use ``use_safetensors=True``) and never counted.
    """

    model_index: dict[str, Any]
    weights: dict[str, SafetensorsHeader]
    unet_config: dict[str, Any] | None
    size: int
    skipped_pickles: tuple[str, ...] = ()


def validate_diffusers_folder(path: str | os.PathLike, *, library_check: bool = True) -> DiffusersFolder:
    """Validate a diffusers folder: JSON configs parse, weights are valid safetensors.

    Raises `ModelFileError` when ``model_index.json`` is missing or broken or
    there are no safetensors weights, and `PickleRefused` when a component's
    weights exist only as pickles (``.bin``/``.ckpt``...).
    """
    root = Path(path)
    if not root.is_dir():
        raise ModelFileError(f"'{root.name}' is not a folder")
    model_index = _read_json_object(root / "model_index.json", root)
    weights: dict[str, SafetensorsHeader] = {}
    pickles: dict[Path, str] = {}
    total = 0
    for file in _folder_files(root):
        total += file.stat().st_size
        fmt = sniff_format(file)
        if fmt == "safetensors":
            weights[file.relative_to(root).as_posix()] = validate_safetensors(file, library_check=library_check)
        elif fmt in PICKLE_FORMATS:
            pickles[file] = fmt
    safe_dirs = {(root / rel).parent for rel in weights}
    for file, fmt in pickles.items():
        if file.parent not in safe_dirs:
            rel = file.relative_to(root).as_posix()
            raise PickleRefused(file, fmt, detail=f"'{rel}' in folder '{root.name}'")
    if not weights:
        raise ModelFileError(f"diffusers folder '{root.name}' holds no safetensors weights")
    unet_path = root / "unet" / "config.json"
    unet_config = _read_json_object(unet_path, root) if unet_path.is_file() else None
    skipped = tuple(sorted(p.relative_to(root).as_posix() for p in pickles))
    return DiffusersFolder(model_index, weights, unet_config, total, skipped)


def _folder_files(root: Path) -> list[Path]:
    """Regular files below ``root`` (symlinked files included, as in a HF cache
    snapshot; hidden entries such as ``.git`` or ``.cache`` skipped), sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            candidate = Path(folder) / name
            if not name.startswith(".") and candidate.is_file():
                found.append(candidate)
    return found


def _read_json_object(path: Path, root: Path) -> dict[str, Any]:
    rel = path.relative_to(root).as_posix()
    try:
        if path.stat().st_size > _MAX_JSON_BYTES:
            raise ModelFileError(f"'{rel}' in '{root.name}' is too large for a config file")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"'{root.name}' has no {rel}; it is not a diffusers folder") from None
    except (ValueError, OSError) as e:
        raise ModelFileError(f"'{rel}' in '{root.name}' is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ModelFileError(f"'{rel}' in '{root.name}' is not a JSON object")
    return data


# --------------------------------------------------------------------------- inspection

@dataclass(frozen=True)
class ModelFileInfo:
    """What we know about a model file without loading it.

    For a pickle inspected with ``allow_pickle=True`` nothing inside can be
    read safely: ``model_type``/``base_model`` are ``other`` and
    ``tensor_count`` is 0 until the file is converted and inspected again.
    """

    format: str
    model_type: str
    base_model: str
    metadata: dict[str, str] = field(default_factory=dict)
    tensor_count: int = 0
    size: int = 0


def inspect_model_file(path: str | os.PathLike, *, allow_pickle: bool = False) -> ModelFileInfo:
    """Sniff, validate and classify a model file or diffusers folder.

    Raises `PickleRefused` for pickles unless ``allow_pickle`` (the caller then
    converts with `core.library.pickle_import.convert_pickle_to_safetensors`), and
    `ModelFileError` for malformed or unrecognised files.
    """
    path = Path(path)
    fmt = sniff_format(path)
    if fmt == "safetensors":
        header = validate_safetensors(path)
        model_type, base = detect_model(header.shapes, header.metadata)
        return ModelFileInfo(fmt, model_type, base, dict(header.metadata), len(header.tensors), header.file_size)
    if fmt == "diffusers":
        folder = validate_diffusers_folder(path)
        model_type, base = detect_diffusers(folder.model_index, folder.unet_config)
        metadata = {k: v for k, v in folder.model_index.items() if isinstance(v, str)}
        count = sum(len(h.tensors) for h in folder.weights.values())
        return ModelFileInfo(fmt, model_type, base, metadata, count, folder.size)
    if fmt in PICKLE_FORMATS:
        if not allow_pickle:
            raise PickleRefused(path, fmt)
        return ModelFileInfo(fmt, OTHER, OTHER_BASE, {}, 0, path.stat().st_size)
    raise ModelFileError(
        f"'{path.name}' is not a model file we recognise: expected a safetensors file, "
        "a diffusers folder (with model_index.json) or a PyTorch checkpoint"
    )


# --------------------------------------------------------------------------- hashing

def autov2(sha256_hex: str) -> str:
    """Civitai's AutoV2 hash: the first 10 hex characters of the SHA-256."""
    return sha256_hex[:10]


def sha256_file(path: str | os.PathLike, *, buffer_size: int = 4 << 20) -> str:
    """SHA-256 of a file, read in large blocks (flat memory for multi-GB files)."""
    with open(path, "rb") as f:
        try:
            digest = hashlib.file_digest(f, "sha256", _bufsize=buffer_size)
        except TypeError:  # a Python whose file_digest lacks the buffer size knob
            digest = hashlib.file_digest(f, "sha256")
    return digest.hexdigest()


class HashingWriter:
    """Wrap a binary file: every ``write`` also feeds SHA-256 and counts bytes.

    Lets an upload be hashed exactly once, while it streams to disk.  With
    ``limit`` set, a write that would pass it raises `ModelFileError` (nothing
    of that chunk is written).
    """

    def __init__(self, dst: BinaryIO, *, limit: int | None = None) -> None:
        self._dst = dst
        self._hash = hashlib.sha256()
        self._limit = limit
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        n = len(data)
        if self._limit is not None and self.size + n > self._limit:
            raise ModelFileError(f"the file is larger than the limit of {self._limit} bytes")
        self._hash.update(data)
        self._dst.write(data)
        self.size += n
        return n

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def copy_and_hash(src: BinaryIO, dst: BinaryIO, chunk: int = DEFAULT_CHUNK,
                  *, limit: int | None = None) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` hashing on the way; returns ``(sha256_hex, size)``.

    One reused buffer, so memory stays flat whatever the size.
    """
    writer = HashingWriter(dst, limit=limit)
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    readinto = getattr(src, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            writer.write(view[:n])
        else:
            data = src.read(chunk)
            if not data:
                break
            writer.write(data)
    return writer.hexdigest(), writer.size
