"""Errors raised while inspecting, validating or converting model files.

Kept in their own tiny module so that every model-file module (and the web
app, which turns them into 4xx answers) can import them without importing
anything heavy.
"""

from __future__ import annotations

from pathlib import Path

# The formats that are pickles (code runs when they are loaded).
PICKLE_FORMATS = ("pickle", "torch-zip")


class ModelFileError(ValueError):
    """A model file (or folder) is malformed, unsafe or of an unsupported kind.

    The message is meant for the user who supplied the file: it says what is
    wrong and, where possible, what to do about it.
    """


class PickleRefused(ModelFileError):
    """The file is a pickle and the pickle policy does not allow it here."""

    def __init__(self, path: str | Path, fmt: str = "pickle", detail: str = "") -> None:
        self.path = str(path)
        self.format = fmt
        super().__init__(pickle_refusal_message(Path(path).name, fmt, detail))


def pickle_refusal_message(name: str, fmt: str, detail: str = "") -> str:
    """The user-facing explanation of why a pickle is refused and how to convert it."""
    kind = "a PyTorch zip checkpoint" if fmt == "torch-zip" else "a Python pickle"
    where = f" ({detail})" if detail else ""
    return (
        f"'{name}'{where} is {kind} (.ckpt/.pt/.pth/.bin style). Loading a pickle can run "
        "arbitrary code, so only safetensors files are accepted. Convert it on a machine "
        f"you trust, for example with `python visionary_app.py convert-pickle {name}` "
        "(or `python -m core.library.pickle_import FILE`, or the convert script of the safetensors "
        "project), and upload the resulting .safetensors file. An admin can instead start "
        "the server with --allow-pickle-import to convert pickles in a sandboxed process."
    )
