"""What an AUTOMATIC1111 models folder says about its files, beyond the weights.

A1111 keeps, beside ``<name>.safetensors``: ``<name>.json`` (the "user
metadata" editor: ``description``, ``activation text``, ``sd version``,
``preferred weight``, ``notes``) and ``<name>.preview.png``.  Its folders name
the kind of model (``Stable-diffusion/``, ``Lora/``, ``VAE/``, ``embeddings/``, ``ESRGAN/``, ``RealESRGAN/``).
These files are only read, never written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.library.base_models import SD1, SD2, SDXL

FOLDER_TYPES = {"stable-diffusion": "checkpoint", "lora": "lora", "lycoris": "lora", "vae": "vae",
                "embeddings": "embedding", "esrgan": "upscaler", "realesrgan": "upscaler"}
SD_VERSIONS = {"sd1": SD1, "sd 1": SD1, "sd1.5": SD1, "sd2": SD2, "sd 2": SD2, "sdxl": SDXL}
PREVIEW_SUFFIXES = (".preview.png", ".preview.jpg", ".preview.jpeg", ".preview.webp", ".png", ".jpg", ".webp")


@dataclass(frozen=True)
class Sidecar:
    description: str = ""
    trigger_words: tuple[str, ...] = ()
    base_model: str | None = None
    default_weight: float | None = None
    preview: Path | None = None


def folder_type(relative: Path) -> str | None:
    """The model type A1111's folder layout implies (``Lora/styles/x.safetensors`` -> ``lora``)."""
    for part in relative.parts[:-1]:
        kind = FOLDER_TYPES.get(part.lower())
        if kind:
            return kind
    return None


def _stem(path: Path) -> Path:
    return path.with_name(path.name[: -len(path.suffix)] if path.suffix else path.name)


def find_preview(path: Path) -> Path | None:
    stem = _stem(path)
    for suffix in PREVIEW_SUFFIXES:
        candidate = stem.with_name(stem.name + suffix)
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _weight(value) -> float | None:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        return None
    return weight if -10 <= weight <= 10 else None


def read_sidecar(path: Path) -> Sidecar:
    """The sidecar facts for a model file; an unreadable or odd JSON file just gives fewer facts."""
    data = {}
    stem = _stem(path)
    json_path = stem.with_name(stem.name + ".json")
    if json_path.is_file() and json_path.stat().st_size < 1_000_000:
        try:
            loaded = json.loads(json_path.read_text(encoding="utf-8"))
            data = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            data = {}
    description = str(data.get("description") or "").strip()
    notes = str(data.get("notes") or "").strip()
    if notes:
        description = f"{description}\n\n{notes}".strip()
    words = tuple(w.strip() for w in str(data.get("activation text") or "").split(",") if w.strip())
    base = SD_VERSIONS.get(str(data.get("sd version") or "").strip().lower())
    return Sidecar(description[:50_000], words[:50], base, _weight(data.get("preferred weight")), find_preview(path))
