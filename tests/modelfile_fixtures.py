"""Small real model files for the model-file tests: good ones and hostile ones.

The state dicts use real key names with the shapes that matter for detection
(first dimensions are shrunk where only the second one carries meaning), so
every file stays in the kilobytes.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import torch
from safetensors.torch import save_file

ATTN2 = "transformer_blocks.0.attn2.to_k.weight"


def t(*shape: int) -> torch.Tensor:
    """A small float16 tensor with distinct values (so equality checks mean something)."""
    n = 1
    for d in shape:
        n *= d
    return (torch.arange(n, dtype=torch.float32) % 251).reshape(shape).to(torch.float16)


def sd1_checkpoint() -> dict[str, torch.Tensor]:
    return {
        f"model.diffusion_model.input_blocks.1.1.{ATTN2}": t(320, 768),
        "model.diffusion_model.input_blocks.0.0.weight": t(320, 4, 3, 3),
        "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": t(16, 768),
        "first_stage_model.encoder.down.0.block.0.conv1.weight": t(8, 8, 3, 3),
    }


def sd2_checkpoint() -> dict[str, torch.Tensor]:
    return {
        f"model.diffusion_model.input_blocks.1.1.{ATTN2}": t(32, 1024),
        "model.diffusion_model.input_blocks.0.0.weight": t(320, 4, 3, 3),
        "cond_stage_model.model.token_embedding.weight": t(16, 1024),
    }


def sdxl_checkpoint() -> dict[str, torch.Tensor]:
    return {
        f"model.diffusion_model.input_blocks.4.1.{ATTN2}": t(16, 2048),
        "model.diffusion_model.label_emb.0.0.weight": t(16, 2816),
        "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight": t(16, 768),
        "conditioner.embedders.1.model.token_embedding.weight": t(16, 1280),
    }


def kohya_lora(te_width: int = 768, context: int = 768) -> dict[str, torch.Tensor]:
    unet = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    te = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
    return {
        f"{unet}.lora_down.weight": t(4, context),
        f"{unet}.lora_up.weight": t(320, 4),
        f"{unet}.alpha": torch.tensor(4.0),
        f"{te}.lora_down.weight": t(4, te_width),
        f"{te}.lora_up.weight": t(te_width, 4),
        f"{te}.alpha": torch.tensor(4.0),
    }


def kohya_sdxl_lora() -> dict[str, torch.Tensor]:
    te1 = "lora_te1_text_model_encoder_layers_0_self_attn_q_proj"
    te2 = "lora_te2_text_model_encoder_layers_0_self_attn_q_proj"
    return {
        f"{te1}.lora_down.weight": t(4, 768),
        f"{te1}.lora_up.weight": t(768, 4),
        f"{te2}.lora_down.weight": t(4, 1280),
        f"{te2}.lora_up.weight": t(1280, 4),
    }


def ti_embedding(width: int = 768, vectors: int = 2) -> dict[str, torch.Tensor]:
    return {"emb_params": t(vectors, width)}


def ldm_vae() -> dict[str, torch.Tensor]:
    return {
        "encoder.down.0.block.0.conv1.weight": t(8, 8, 3, 3),
        "decoder.up.0.block.0.conv1.weight": t(8, 8, 3, 3),
        "quant_conv.weight": t(8, 8, 1, 1),
    }


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> Path:
    save_file(tensors, str(path), metadata=metadata)
    return path


def raw_safetensors(path: Path, header: dict | bytes, data: bytes = b"", *, length: int | None = None) -> Path:
    """Hand-made safetensors bytes, for malformed files the library would never write."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


class CanaryPayload:
    """Unpickling this runs ``function(argument)``, which creates the canary file."""

    def __init__(self, function, argument: str) -> None:
        self.function, self.argument = function, argument

    def __reduce__(self):
        return (self.function, (self.argument,))


def os_system_payload(canary: Path) -> CanaryPayload:
    return CanaryPayload(os.system, f"touch '{canary}'")


def exec_payload(canary: Path) -> CanaryPayload:
    return CanaryPayload(exec, f"open({str(canary)!r}, 'w').close()")


def write_evil_pickle(path: Path, canary: Path, protocol: int = 2) -> Path:
    """A raw pickle whose ``__reduce__`` would create ``canary``."""
    path.write_bytes(pickle.dumps({"weight": [1.0], "evil": os_system_payload(canary)}, protocol=protocol))
    return path


def write_evil_torch_zip(path: Path, canary: Path, payload=os_system_payload) -> Path:
    """``torch.save`` of a dict whose data.pkl references a malicious global."""
    torch.save({"state_dict": {"w": t(2, 2)}, "evil": payload(canary)}, str(path))
    return path
