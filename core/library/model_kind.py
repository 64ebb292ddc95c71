"""Guess a model's type and base model from its tensor names and shapes.

Works from what a safetensors header gives (name -> shape, plus the
``__metadata__`` strings), so nothing is loaded.  The rules follow the key
layouts in the wild:

* checkpoint: LDM / A1111 single files (``model.diffusion_model.*``);
* LoRA: kohya (``lora_unet_*``, ``lora_te*_*``, ``.lora_down/.lora_up/.alpha``,
  LyCORIS variants), PEFT / diffusers (``lora_A``/``lora_B``, ``lora.down``);
* embedding: textual inversion (``emb_params``, ``string_to_param``,
  ``clip_l``/``clip_g``);
* VAE: LDM (``encoder.down.*``/``decoder.up.*``) or diffusers AutoencoderKL;
* upscaler: the ESRGAN family (``core.library.upscaler_kind``);
* anything else is ``other``.

The base model (each family's usual name, ``core.library.base_models``) comes first from the weights (cross-attention width, text
encoder width, SDXL-only keys), then from training metadata hints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.library.base_models import OTHER_BASE, SD1, SD2, SDXL
from core.library.upscaler_kind import upscaler_shape

CHECKPOINT, LORA, EMBEDDING, VAE, UPSCALER, OTHER = "checkpoint", "lora", "embedding", "vae", "upscaler", "other"
MODEL_TYPES = (CHECKPOINT, LORA, EMBEDDING, VAE, UPSCALER, OTHER)

# Cross-attention context width (the text encoder's hidden size) per family.
_CONTEXT_DIM_BASE = {768: SD1, 1024: SD2, 2048: SDXL}
_TEXT_DIM_BASE = {768: SD1, 1024: SD2}

# A weight whose last dimension is the cross-attention context width:
# `...attn2.to_k.weight` (checkpoints, diffusers), kohya `...attn2_to_k.lora_down.weight`,
# PEFT `...attn2.to_k.lora_A.weight`, diffusers `...attn2.processor.to_k_lora.down.weight`.
_CONTEXT_KEY = re.compile(
    r"attn2[._](?:processor[._])?to_k(?:_lora)?[._]"
    r"(?:lora_down[._]|lora_A[._]|lora[._]down[._]|down[._])?weight$"
)
# A LoRA weight whose last dimension is the text encoder width (q/k/v projections).
_TEXT_KEY = re.compile(
    r"(?:lora_te_|text_encoder\.|te\.).*self_attn[._][qkv]_proj[._]"
    r"(?:lora_down[._]|lora_A[._]|lora[._]down[._])weight$"
)
_LORA_SUFFIXES = (
    ".lora_down.weight", ".lora_up.weight", ".alpha", ".lora_mid.weight",
    ".hada_w1_a", ".hada_w1_b", ".hada_w2_a", ".hada_w2_b", ".lokr_w1", ".lokr_w2",
    ".lora_A.weight", ".lora_B.weight", ".lora.down.weight", ".lora.up.weight",
    "_lora.down.weight", "_lora.up.weight",
)
_LORA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_", "lycoris_")
_UNET_PREFIXES = ("model.diffusion_model.", "down_blocks.", "mid_block.", "up_blocks.", "unet.")
_VAE_PREFIXES = (
    "encoder.down.", "decoder.up.", "encoder.down_blocks.", "decoder.up_blocks.",
    "first_stage_model.encoder.", "first_stage_model.decoder.",
)
# Textual inversion vectors: up to 75 tokens in practice.
_MAX_EMBEDDING_VECTORS = 128

Shapes = Mapping[str, Sequence[int]]


def detect_model(shapes: Shapes, metadata: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Return ``(model_type, base_model)`` for a file's tensor name -> shape map."""
    metadata = metadata or {}
    keys = list(shapes)
    if any(k.startswith("model.diffusion_model.") for k in keys):
        return CHECKPOINT, _checkpoint_base(shapes)
    if _is_lora(keys):
        return LORA, _lora_base(shapes, metadata)
    embedding_base = _embedding_base(shapes)
    if embedding_base is not None:
        return EMBEDDING, embedding_base
    if _is_vae(keys):
        return VAE, _metadata_base(metadata) or OTHER_BASE
    if upscaler_shape(shapes) is not None:
        return UPSCALER, OTHER_BASE
    return OTHER, _context_base(shapes) or _metadata_base(metadata) or OTHER_BASE


def detect_diffusers(model_index: Mapping[str, Any], unet_config: Mapping[str, Any] | None) -> tuple[str, str]:
    """Type and base model of a diffusers pipeline folder (always a checkpoint)."""
    base = None
    if unet_config:
        context = unet_config.get("cross_attention_dim")
        if isinstance(context, list) and context and all(c == context[0] for c in context):
            context = context[0]
        if unet_config.get("addition_embed_type") == "text_time":
            base = SDXL
        elif isinstance(context, int):
            base = _CONTEXT_DIM_BASE.get(context)
    if base is None and "XL" in str(model_index.get("_class_name", "")):
        base = SDXL
    return CHECKPOINT, base or OTHER_BASE


def _context_dim(shapes: Shapes) -> int | None:
    """The cross-attention context width, from the first attn2 key projection found."""
    for key, shape in shapes.items():
        if len(shape) == 2 and _CONTEXT_KEY.search(key):
            return int(shape[-1])
    return None


def _context_base(shapes: Shapes) -> str | None:
    dim = _context_dim(shapes)
    return _CONTEXT_DIM_BASE.get(dim) if dim is not None else None


def _checkpoint_base(shapes: Shapes) -> str:
    keys = list(shapes)
    if any(k.startswith("conditioner.embedders.1.") for k in keys):
        return SDXL
    base = _context_base(shapes)
    if base is not None:
        return base
    if any(k.startswith("cond_stage_model.model.") for k in keys):
        return SD2  # OpenCLIP text encoder
    if any(k.startswith("model.diffusion_model.label_emb.") for k in keys):
        return SDXL  # e.g. the SDXL refiner (context width 1280)
    if any(k.startswith("cond_stage_model.transformer.") for k in keys):
        return SD1
    return OTHER_BASE


def _is_lora(keys: Sequence[str]) -> bool:
    return any(k.startswith(_LORA_PREFIXES) or k.endswith(_LORA_SUFFIXES) for k in keys)


def _lora_base(shapes: Shapes, metadata: Mapping[str, str]) -> str:
    keys = list(shapes)
    if any(k.startswith(("lora_te1_", "lora_te2_", "text_encoder_2.", "te2.")) for k in keys):
        return SDXL
    if any("label_emb" in k or "add_embedding" in k for k in keys):
        return SDXL
    return _context_base(shapes) or _text_encoder_base(shapes) or _metadata_base(metadata) or OTHER_BASE


def _text_encoder_base(shapes: Shapes) -> str | None:
    for key, shape in shapes.items():
        if len(shape) == 2 and _TEXT_KEY.search(key):
            return _TEXT_DIM_BASE.get(int(shape[-1]))
    return None


def _embedding_base(shapes: Shapes) -> str | None:
    """Base model if this looks like a textual inversion embedding, else None."""
    if {"clip_l", "clip_g"} <= set(shapes) and len(shapes) == 2:
        if all(_vectors(shapes[k]) is not None for k in ("clip_l", "clip_g")):
            return SDXL
        return None
    named = [k for k in shapes if k == "emb_params" or k.startswith("string_to_param")]
    if named and len(shapes) == 1:
        width = _vectors(shapes[named[0]])
        return _TEXT_DIM_BASE.get(width, OTHER_BASE) if width is not None else None
    if len(shapes) == 1:  # A1111 also accepts any single small [vectors, width] tensor
        width = _vectors(next(iter(shapes.values())))
        return _TEXT_DIM_BASE.get(width) if width is not None else None
    return None


def _vectors(shape: Sequence[int]) -> int | None:
    """The vector width of a small ``[n, width]`` (or ``[width]``) tensor, else None."""
    if len(shape) == 1 and shape[0] > 0:
        return int(shape[0])
    if len(shape) == 2 and 0 < shape[0] <= _MAX_EMBEDDING_VECTORS and shape[1] > 0:
        return int(shape[1])
    return None


def _is_vae(keys: Sequence[str]) -> bool:
    if any(k.startswith(_UNET_PREFIXES) for k in keys):
        return False
    return any(k.startswith(_VAE_PREFIXES) for k in keys)


def _metadata_base(metadata: Mapping[str, str]) -> str | None:
    """Base model from kohya / modelspec training metadata, if it says."""
    version = metadata.get("ss_base_model_version", "").lower()
    if version:
        return _base_from_text(version, {"sdxl": SDXL, "sd_v2": SD2, "sd_2": SD2, "sd_v1": SD1, "sd_1": SD1})
    arch = metadata.get("modelspec.architecture", "").lower()
    if arch:
        return _base_from_text(arch, {
            "stable-diffusion-xl": SDXL, "stable-diffusion-v2": SD2, "stable-diffusion-v1": SD1,
        })
    if metadata.get("ss_v2", "").lower() == "true":
        return SD2
    by_name = _base_from_name(metadata.get("ss_sd_model_name", "").lower())
    if by_name:
        return by_name
    if metadata.get("ss_v2", "").lower() == "false":
        return SD1  # kohya before SDXL: v2 false meant SD 1.x
    return None


def _base_from_text(text: str, prefixes: Mapping[str, str]) -> str:
    for prefix, base in prefixes.items():
        if text.startswith(prefix):
            return base
    return OTHER_BASE  # a known field naming another family (Flux, SD3, ...)


def _base_from_name(name: str) -> str | None:
    """Base model from the file name of the checkpoint a LoRA was trained on."""
    if not name:
        return None
    if re.search(r"xl|pony|illustrious", name):
        return SDXL
    if re.search(r"v2|sd2|2[-._][01](?![0-9])|768-v", name):
        return SD2
    if re.search(r"v1|sd1|1[-._][45](?![0-9])|anything", name):
        return SD1
    return None
