"""Strict validation of safetensors files.

A safetensors file is ``<u64 little-endian N><N bytes of JSON header><data>``.
The header maps tensor names to ``{"dtype", "shape", "data_offsets"}`` (offsets
relative to the start of the data) plus an optional ``__metadata__`` object of
strings.  We parse the header ourselves with strict checks (so a user gets a
precise message) and then let the ``safetensors`` library open the file too, so
that everything we accept is also something the loaders can load.

Only the header is read: multi-GB files cost a few kilobytes of I/O.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.library.modelfile_errors import ModelFileError

# The safetensors library refuses headers above 100 MB; so do we.
MAX_HEADER_BYTES = 100_000_000

# Bytes per element for the dtypes the torch side of the safetensors library
# can load (safetensors/torch.py `_TYPES`).
DTYPE_SIZES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1,
    "U64": 8, "U32": 4, "U16": 2, "U8": 1,
    "BOOL": 1, "C64": 8,
    "F8_E4M3": 1, "F8_E5M2": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1,
}

_TENSOR_FIELDS = frozenset({"dtype", "shape", "data_offsets"})


@dataclass(frozen=True)
class TensorInfo:
    """One tensor entry of a safetensors header; offsets are relative to the data."""

    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True)
class SafetensorsHeader:
    """The parsed, validated header of a safetensors file."""

    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]
    header_size: int
    file_size: int

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Tensor name -> shape, the input `core.library.model_kind.detect_model` wants."""
        return {name: info.shape for name, info in self.tensors.items()}


def validate_safetensors(path: str | os.PathLike, *, library_check: bool = True) -> SafetensorsHeader:
    """Validate a safetensors file and return its parsed header.

    Raises `ModelFileError` for a header length larger than the file, a header
    that is not a JSON object, duplicate keys, unknown dtypes, shapes whose size
    does not match the offsets, offsets outside the file, overlapping or gapped
    tensor data, trailing bytes, and anything the safetensors library refuses
    (when ``library_check`` is true, the default).
    """
    path = Path(path)
    name = path.name
    try:
        with open(path, "rb") as f:
            file_size = os.fstat(f.fileno()).st_size
            header_size = _read_header_size(f, file_size, name)
            raw = f.read(header_size)
    except OSError as e:
        raise ModelFileError(f"cannot read '{name}': {e.strerror or e}") from None
    if len(raw) != header_size:
        raise ModelFileError(f"'{name}' is truncated inside its safetensors header")
    header = _parse_header_json(raw, name)
    metadata = _check_metadata(header.pop("__metadata__", None), name)
    tensors = {key: _check_tensor_entry(key, value, name) for key, value in header.items()}
    _check_layout(tensors, file_size - 8 - header_size, name)
    if library_check:
        _library_check(path, tensors, name)
    return SafetensorsHeader(tensors, metadata, header_size, file_size)


def _read_header_size(f, file_size: int, name: str) -> int:
    if file_size < 8:
        raise ModelFileError(f"'{name}' is too small ({file_size} bytes) to be a safetensors file")
    (size,) = struct.unpack("<Q", f.read(8))
    if size > file_size - 8:
        raise ModelFileError(
            f"'{name}' is not a valid safetensors file: its header length ({size} bytes) "
            f"is larger than the file ({file_size} bytes); the file is truncated or corrupt"
        )
    if size > MAX_HEADER_BYTES:
        raise ModelFileError(f"'{name}' has a safetensors header of {size} bytes (limit {MAX_HEADER_BYTES})")
    if size < 2:
        raise ModelFileError(f"'{name}' has an empty safetensors header")
    return size


def _parse_header_json(raw: bytes, name: str) -> dict[str, Any]:
    """Parse the header strictly: UTF-8, a JSON object, no duplicate keys, no NaN."""
    if raw[:1] != b"{":
        raise ModelFileError(f"'{name}': the safetensors header does not start with '{{'")
    try:
        text = raw.decode("utf-8")
        header = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ModelFileError(f"'{name}': the safetensors header is not valid UTF-8") from None
    except json.JSONDecodeError as e:
        raise ModelFileError(f"'{name}': the safetensors header is not valid JSON ({e.msg} at byte {e.pos})") from None
    except ValueError as e:  # raised by the hooks below
        raise ModelFileError(f"'{name}': the safetensors header is invalid: {e}") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"'{name}': the safetensors header is not a JSON object")
    return header


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(token: str) -> Any:
    raise ValueError(f"{token} is not allowed")


def _check_metadata(value: Any, name: str) -> dict[str, str]:
    if value is None:  # absent, or null (which the library accepts too)
        return {}
    if not isinstance(value, dict):
        raise ModelFileError(f"'{name}': __metadata__ must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise ModelFileError(f"'{name}': __metadata__ value for {key!r} is not a string")
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_tensor_entry(key: str, value: Any, name: str) -> TensorInfo:
    where = f"'{name}': tensor {key!r}"
    if not isinstance(value, dict) or set(value) != _TENSOR_FIELDS:
        raise ModelFileError(f"{where} must have exactly the fields dtype, shape and data_offsets")
    dtype, shape, offsets = value["dtype"], value["shape"], value["data_offsets"]
    if dtype not in DTYPE_SIZES:
        raise ModelFileError(f"{where} has an unknown or unsupported dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise ModelFileError(f"{where} has an invalid shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets)
            or offsets[0] > offsets[1]):
        raise ModelFileError(f"{where} has invalid data_offsets {offsets!r}")
    count = 1
    for dim in shape:
        count *= dim
    expected = count * DTYPE_SIZES[dtype]
    if expected != offsets[1] - offsets[0]:
        raise ModelFileError(
            f"{where}: shape {shape} of {dtype} needs {expected} bytes but its offsets "
            f"span {offsets[1] - offsets[0]} bytes"
        )
    return TensorInfo(dtype, tuple(shape), offsets[0], offsets[1])


def _check_layout(tensors: dict[str, TensorInfo], data_size: int, name: str) -> None:
    """The tensors must tile the data section exactly: no overlap, gap, overrun or tail."""
    position, previous = 0, None
    for key, info in sorted(tensors.items(), key=lambda item: (item[1].start, item[1].end)):
        if info.end > data_size:
            raise ModelFileError(
                f"'{name}': tensor {key!r} ends at byte {info.end} of the data but the file holds "
                f"only {data_size} data bytes; the file is truncated or corrupt"
            )
        if info.start < position:
            raise ModelFileError(f"'{name}': the data of tensors {previous!r} and {key!r} overlap")
        if info.start > position:
            raise ModelFileError(f"'{name}': there is a gap of unused bytes before tensor {key!r}")
        position, previous = info.end, key
    if position != data_size:
        raise ModelFileError(f"'{name}' has {data_size - position} trailing bytes after the last tensor")


def _library_check(path: Path, tensors: dict[str, TensorInfo], name: str) -> None:
    """Open the file with the safetensors library: what we accept, the loaders can load."""
    from safetensors import safe_open

    try:  # "numpy": the same header checks without importing torch into the web server (keys only, no tensors)
        with safe_open(str(path), framework="numpy") as f:
            keys = set(f.keys())
    except Exception as e:  # the library raises SafetensorError and friends
        raise ModelFileError(f"'{name}': the safetensors library refuses the file: {e}") from None
    if keys != set(tensors):
        raise ModelFileError(f"'{name}': the safetensors library reads different tensor names than the header")
