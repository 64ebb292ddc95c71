"""Textual-inversion embeddings from the library, used by name in a prompt as in A1111.

An embedding named ``easynegative`` (its library name, else its file's stem) is used when that name stands as a
word in the prompt or the negative prompt. For a run it is loaded with diffusers' ``load_textual_inversion`` into
the tokenizer(s) and text encoder(s) — an SDXL embedding's ``clip_l`` vectors into the first, ``clip_g`` into the
second — and removed afterwards, so the cached pipeline is left as it was. Files are safetensors (A1111's
``emb_params`` or ``string_to_param``, or one tensor; SDXL's ``clip_l``/``clip_g``).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence


class EmbeddingDoesNotFit(ValueError):
    """An embedding whose vectors are not the width of the checkpoint's text encoder (another base model)."""


def _word(name: str) -> re.Pattern:
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)


def used_names(names: Sequence[str], *prompts: str) -> list[str]:
    """The embedding names that stand as words in any of ``prompts``, in any case (A1111 matches the lower-cased
    tokens CLIP makes of them)."""
    text = "\n".join(prompts)
    return [name for name in names if _word(name).search(text)]


def spelled_as_loaded(text: str, names: Sequence[str]) -> str:
    """``text`` with each embedding name written as it was loaded (the tokenizer matches added tokens exactly)."""
    for name in names:
        text = _word(name).sub(lambda _match, name=name: name, text)
    return text


def _vectors(path: str | Path) -> dict[str, object]:
    """``{"clip_l": tensor, "clip_g": tensor}`` (SDXL) or ``{"clip_l": tensor}``: each ``(vectors, width)``."""
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    if "clip_l" in tensors:
        return {key: tensors[key] for key in ("clip_l", "clip_g") if key in tensors}
    tensor = tensors.get("emb_params", tensors.get("string_to_param.*"))
    if tensor is None and len(tensors) == 1:
        tensor = next(iter(tensors.values()))
    if tensor is None:
        raise EmbeddingDoesNotFit(f"{Path(path).name} holds no embedding vectors")
    return {"clip_l": tensor.reshape(-1, tensor.shape[-1])}


def _targets(pipe) -> list[tuple[str, object, object]]:
    targets = [("clip_l", pipe.tokenizer, pipe.text_encoder)]
    if getattr(pipe, "text_encoder_2", None) is not None:
        targets.append(("clip_g", pipe.tokenizer_2, pipe.text_encoder_2))
    return targets


def _load(pipe, path: str | Path, name: str) -> list[tuple[object, object, list[str]]]:
    """Load one embedding into each text encoder; ``[(tokenizer, encoder, tokens added)]``."""
    vectors = _vectors(path)
    for key, _tokenizer, encoder in _targets(pipe):
        tensor, width = vectors.get(key), encoder.get_input_embeddings().weight.shape[-1]
        if tensor is None or tensor.shape[-1] != width:
            raise EmbeddingDoesNotFit(f"the embedding {name!r} is made for another base model: its vectors do not "
                                      f"fit this checkpoint's text encoder ({width} wide)")
    loaded = []
    for key, tokenizer, encoder in _targets(pipe):
        before = set(tokenizer.get_added_vocab())
        pipe.load_textual_inversion(vectors[key].to(encoder.dtype), token=name, tokenizer=tokenizer,
                                    text_encoder=encoder)
        loaded.append((tokenizer, encoder, sorted(set(tokenizer.get_added_vocab()) - before)))
    return loaded


@contextmanager
def embeddings_applied(pipe, embeddings: Sequence[tuple[str | Path, str]]) -> Iterator[None]:
    """``(file, name)`` embeddings loaded for the duration (the caller holds the model alone)."""
    loaded: list[tuple[object, object, list[str]]] = []
    try:
        for path, name in embeddings:
            loaded += _load(pipe, path, name)
        yield
    finally:
        for tokenizer, encoder, tokens in reversed(loaded):
            pipe.unload_textual_inversion(tokens=tokens, tokenizer=tokenizer, text_encoder=encoder)
