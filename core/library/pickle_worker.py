"""Child process that converts ONE pickle checkpoint to safetensors.

Run only by `core.library.pickle_import`, as ``python -I core/library/pickle_worker.py IN OUT``
(``python -m core.library.pickle_worker IN OUT`` works too), inside resource limits and,
where the OS allows, without network.  It must stay self-contained (stdlib,
torch, safetensors) so that running it imports nothing else of the project.

It prints one JSON line on stdout: ``{"ok": true, "tensors": N, "dropped": [...],
"netns": ...}`` or ``{"ok": false, "kind": "refused|no-tensors|memory|failed",
"error": "..."}``, and exits 0 on success, 2 otherwise.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys

# Paths of harmless non-tensor objects found in ordinary training checkpoints
# (PyTorch Lightning's checkpoint callback, numpy scalars in the training
# state).  `weights_only` would refuse the whole file for them; we map them to
# an inert stand-in instead, and they are dropped like every non-tensor entry.
INERT_GLOBALS = (
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
    "lightning.pytorch.callbacks.model_checkpoint.ModelCheckpoint",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.dtype",
)
_SAVEABLE_DTYPES = frozenset({
    "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8",
    "uint64", "uint32", "uint16", "uint8", "bool", "complex64",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
})
_MAX_DROPPED_REPORTED = 50
# How an address-space limit shows up when it is hit outside Python's allocator.
_MEMORY_SIGNS = ("allocate memory", "Cannot allocate", "failed to map segment", "std::bad_alloc")


class _Inert:
    """Stands in for an allow-listed non-tensor object; does nothing at all."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class ConversionFailure(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def load_checkpoint(path: str):
    """``torch.load`` with ``weights_only=True`` (and ``mmap`` for zip checkpoints)."""
    import torch

    with open(path, "rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"
    stubs = [(_Inert, name) for name in INERT_GLOBALS]
    with torch.serialization.safe_globals(stubs):
        return torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)


def collect_tensors(obj) -> tuple[dict, list[str]]:
    """Flatten nested dicts into ``{"a.b.c": tensor}``, keeping only str -> Tensor.

    A top-level ``state_dict`` (Lightning / A1111 checkpoints) is unwrapped, and so is BasicSR's ``params_ema``
    (else ``params``) that Real-ESRGAN's upscalers are saved in; a textual inversion ``string_to_param`` becomes A1111's ``emb_params``.
    Returns the tensors and the names of everything dropped.
    """
    import torch

    while isinstance(obj, dict) and (wrapper := next((key for key in ("state_dict", "params_ema", "params")
                                                       if isinstance(obj.get(key), dict)), None)):
        obj = obj[wrapper]
    if not isinstance(obj, dict):
        raise ConversionFailure("no-tensors", f"the checkpoint holds a {type(obj).__name__}, not a dict of tensors")
    tensors: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    stack, seen = [("", obj)], set()
    while stack:
        prefix, mapping = stack.pop()
        if id(mapping) in seen:
            continue
        seen.add(id(mapping))
        for key, value in mapping.items():
            name = f"{prefix}{key}"
            if not isinstance(key, str) or name in tensors:
                dropped.append(name)
            elif isinstance(value, dict):
                stack.append((name + ".", value))
            elif _saveable(value):
                tensors[name] = value
            else:
                dropped.append(name)
    if list(tensors) == ["string_to_param.*"]:
        tensors = {"emb_params": tensors["string_to_param.*"]}
    return tensors, dropped


def _saveable(value) -> bool:
    import torch

    return (isinstance(value, torch.Tensor) and value.layout == torch.strided
            and str(value.dtype).removeprefix("torch.") in _SAVEABLE_DTYPES)


def make_independent(tensors: dict) -> dict:
    """Contiguous tensors with no shared storage, as safetensors requires."""
    seen_storage: set[int] = set()
    result = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach()
        if not tensor.is_contiguous():
            tensor = tensor.contiguous()
        if tensor.numel():
            pointer = tensor.untyped_storage().data_ptr()
            if pointer in seen_storage:
                tensor = tensor.clone()
                pointer = tensor.untyped_storage().data_ptr()
            seen_storage.add(pointer)
        result[name] = tensor
    return result


def convert(src: str, dst: str) -> dict:
    from safetensors.torch import save_file

    obj = load_checkpoint(src)
    tensors, dropped = collect_tensors(obj)
    if not tensors:
        raise ConversionFailure("no-tensors", "the checkpoint contains no tensors")
    try:
        save_file(make_independent(tensors), dst, metadata={"format": "pt"})
    except Exception as e:  # Python ignores SIGXFSZ: the size limit shows up as EFBIG
        if "File too large" in str(e) or getattr(e, "errno", None) == errno.EFBIG:
            raise ConversionFailure("output-limit", "the converted file would exceed the output size limit") from None
        raise
    return {"tensors": len(tensors), "dropped": dropped[:_MAX_DROPPED_REPORTED], "dropped_count": len(dropped)}


def classify_error(error: BaseException) -> ConversionFailure:
    """Sort an exception into refused / memory / failed, with a short message."""
    import pickle

    if isinstance(error, ConversionFailure):
        return error
    text = str(error)
    if isinstance(error, MemoryError) or any(s in text for s in _MEMORY_SIGNS):
        return ConversionFailure("memory", "out of memory")
    if isinstance(error, pickle.UnpicklingError) or "Weights only load failed" in text:
        found = re.search(r"GLOBAL (\S+)", text) or re.search(r"unrecognized function (\S+)", text)
        what = f"it references {found.group(1)[:120]}" if found else _first_line(text)
        return ConversionFailure("refused", f"it holds more than plain tensor data ({what})")
    return ConversionFailure("failed", f"{type(error).__name__}: {_first_line(text)}")


def _first_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else "unknown error")[:300]


def _netns() -> str | None:
    try:
        return os.readlink("/proc/self/ns/net")
    except OSError:
        return None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: pickle_worker.py IN.ckpt OUT.safetensors", file=sys.stderr)
        return 64
    report: dict = {"netns": _netns()}
    try:
        report.update(convert(argv[0], argv[1]), ok=True)
    except Exception as e:  # MemoryError included
        failure = classify_error(e)
        report.update(ok=False, kind=failure.kind, error=str(failure))
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
