"""A1111 ``<lora:NAME:WEIGHT>`` prompt tags and temporary LoRA application.

LoRAs are loaded into the pipeline with diffusers' ``load_lora_weights`` (PEFT
backend), weighted with ``set_adapters`` and removed again with
``unload_lora_weights`` when the generation ends, which puts the original
modules back: the base weights are never merged or modified, so the base model
gives bit-identical images afterwards.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

# <lora:name>, <lora:name:0.8>, <lora:name:0.8:0.5> (A1111's te:unet form: the first weight is used)
_LORA_TAG = re.compile(r"<(?:lora|lyco):([^:>]+)(?::([^:>]*))?(?::[^>]*)?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")


def parse_lora_tags(prompt: str) -> tuple[str, list[tuple[str, float]]]:
    """``(prompt without tags, [(name, weight), ...])`` for A1111's ``<lora:NAME:WEIGHT>`` syntax.

    A missing weight means 1.0. A malformed or non-finite weight (``nan``, ``inf``) raises ``ValueError``.
    """
    loras: list[tuple[str, float]] = []

    def take(match: re.Match) -> str:
        name = match.group(1).strip()
        raw = match.group(2)
        try:
            weight = 1.0 if raw is None or not raw.strip() else float(raw)
        except ValueError:
            raise ValueError(f"LoRA {name!r} has a weight that is not a number: {raw!r}") from None
        if not math.isfinite(weight):
            raise ValueError(f"LoRA {name!r} has a weight that is not a finite number: {raw!r}")
        if not name:
            raise ValueError("a <lora:...> tag has no name")
        loras.append((name, weight))
        return ""

    clean = _LORA_TAG.sub(take, prompt)
    clean = "\n".join(_SPACES.sub(" ", line).strip() for line in clean.split("\n")).strip()
    return clean, loras


def merge_weights(loras: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """Add up the weights of a LoRA named twice and drop those whose weight is 0."""
    total: dict[str, float] = {}
    for key, weight in loras:
        total[str(key)] = total.get(str(key), 0.0) + float(weight)
    return [(key, weight) for key, weight in total.items() if weight != 0.0]


def _load_lora_state_dict(path: Path) -> dict:
    """Only safetensors: a LoRA is never unpickled."""
    from safetensors.torch import load_file

    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9 or head[8:9] != b"{":
        raise ValueError(f"LoRA {path.name!r} is not a safetensors file")
    return load_file(str(path), device="cpu")


class LoraDoesNotLoad(ValueError):
    """A LoRA whose layers the checkpoint does not have (made for another base model, or an unknown layout)."""


@contextmanager
def loras_applied(pipe, loras: Sequence[tuple[str | Path, float]]) -> Iterator[list[str]]:
    """Load ``[(path, weight), ...]`` into ``pipe`` for the ``with`` block, then unload them all.

    Zero-weight LoRAs are skipped (they would not change the image). Yields the
    adapter names in use. The caller must hold the model exclusively: LoRA
    layers are injected into the shared UNet/text-encoder modules.
    """
    active = merge_weights((str(path), weight) for path, weight in loras)
    names: list[str] = []
    try:
        for i, (path, _weight) in enumerate(active):
            name = f"visionary_lora_{i}"
            state_dict = _load_lora_state_dict(Path(path))
            try:
                pipe.load_lora_weights(state_dict, adapter_name=name)
            except (ValueError, RuntimeError, KeyError) as exc:  # wrong base model, unknown layout
                raise LoraDoesNotLoad(f"the LoRA {Path(path).name!r} does not fit this checkpoint: {exc}") from exc
            names.append(name)
        if names:
            pipe.set_adapters(names, adapter_weights=[w for _p, w in active])
        yield names
    finally:
        if active:  # also after a failed load: remove whatever was injected
            pipe.unload_lora_weights()
