"""Small real model files with the key names and shapes of real ones (for library tests)."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file


def _save(tensors: dict, path: Path, metadata: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def sd15_checkpoint(path: Path, seed: int = 0) -> Path:
    """An SD-1.x-layout (A1111/LDM) checkpoint: UNet cross-attention over 768-wide CLIP-L text."""
    g = torch.Generator().manual_seed(seed)
    return _save({
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": torch.randn(320, 768, generator=g),
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_v.weight": torch.randn(320, 768, generator=g),
        "model.diffusion_model.out.2.bias": torch.randn(4, generator=g),
        "first_stage_model.decoder.conv_in.weight": torch.randn(8, 4, 3, 3, generator=g),
        "cond_stage_model.transformer.text_model.final_layer_norm.weight": torch.randn(768, generator=g),
    }, path)


def kohya_lora(path: Path, seed: int = 0) -> Path:
    """A kohya-style SD 1.x LoRA with its ``ss_*`` training metadata."""
    g = torch.Generator().manual_seed(seed)
    prefix = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    te = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
    return _save({
        f"{prefix}.lora_down.weight": torch.randn(4, 768, generator=g),
        f"{prefix}.lora_up.weight": torch.randn(320, 4, generator=g),
        f"{prefix}.alpha": torch.tensor(4.0),
        f"{te}.lora_down.weight": torch.randn(4, 768, generator=g),
        f"{te}.lora_up.weight": torch.randn(768, 4, generator=g),
        f"{te}.alpha": torch.tensor(4.0),
    }, path, metadata={"ss_network_module": "networks.lora", "ss_base_model_version": "sd_v1",
                       "ss_output_name": "pastel_style", "ss_num_epochs": "10", "ss_learning_rate": "0.0001"})


def sdxl_lora(path: Path, seed: int = 0) -> Path:
    """A kohya-style SDXL LoRA: two text encoders (``lora_te1_``/``lora_te2_``)."""
    g = torch.Generator().manual_seed(seed)
    te1, te2 = (f"lora_te{n}_text_model_encoder_layers_0_self_attn_q_proj" for n in (1, 2))
    return _save({f"{te1}.lora_down.weight": torch.randn(4, 768, generator=g),
                  f"{te1}.lora_up.weight": torch.randn(768, 4, generator=g),
                  f"{te2}.lora_down.weight": torch.randn(4, 1280, generator=g),
                  f"{te2}.lora_up.weight": torch.randn(1280, 4, generator=g)}, path)


def embedding(path: Path, seed: int = 0) -> Path:
    g = torch.Generator().manual_seed(seed)
    return _save({"emb_params": torch.randn(2, 768, generator=g)}, path)


def vae(path: Path, seed: int = 0) -> Path:
    g = torch.Generator().manual_seed(seed)
    return _save({"encoder.down.0.block.0.conv1.weight": torch.randn(8, 8, 3, 3, generator=g),
                  "decoder.up.0.block.0.conv1.weight": torch.randn(8, 8, 3, 3, generator=g),
                  "encoder.conv_in.weight": torch.randn(8, 3, 3, 3, generator=g)}, path)


def canary_pickle(path: Path, canary: Path) -> Path:
    """A pickle that would create ``canary`` if anyone ever unpickled it."""
    import os
    import pickle

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {canary}",))

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"state_dict": Exploit()}))
    return path
