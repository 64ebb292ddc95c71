"""Diffusers Stable Diffusion pipeline -> single-file LDM (A1111/Civitai) state dict.

This is the inverse of diffusers' single-file key mapping
(``diffusers.loaders.single_file_utils``: ``convert_ldm_unet_checkpoint``,
``convert_ldm_vae_checkpoint``, ``convert_ldm_clip_checkpoint``,
``convert_open_clip_checkpoint``), so a checkpoint written here loads back with
``from_single_file`` to the same weights. Tests and tools use it to make
single-file checkpoints from small diffusers pipelines.

Layouts written:

* UNet under ``model.diffusion_model.`` (``input_blocks``/``middle_block``/``output_blocks``).
* VAE under ``first_stage_model.`` (``encoder.down.N.block.M``; attention as 1x1 convs).
* SD 1.x CLIP under ``cond_stage_model.transformer.``; SD 2.x OpenCLIP under
  ``cond_stage_model.model.``; SDXL under ``conditioner.embedders.0.transformer.`` and
  ``conditioner.embedders.1.model.``.

Every key of the input is mapped or the conversion fails: nothing is dropped silently.
"""

from __future__ import annotations

from typing import Mapping

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
SD1_CLIP_PREFIX = "cond_stage_model.transformer."
SD2_OPEN_CLIP_PREFIX = "cond_stage_model.model."
SDXL_CLIP_PREFIX = "conditioner.embedders.0.transformer."
SDXL_OPEN_CLIP_PREFIX = "conditioner.embedders.1.model."

_UNET_RESNET_RENAMES = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}
_VAE_RESNET_RENAMES = {"conv_shortcut": "nin_shortcut"}
_VAE_ATTENTION_RENAMES = {
    "group_norm": "norm",
    "to_q": "q",
    "to_k": "k",
    "to_v": "v",
    "to_out.0": "proj_out",
}
_OPEN_CLIP_LAYER_RENAMES = {
    "self_attn.out_proj": "attn.out_proj",
    "layer_norm1": "ln_1",
    "layer_norm2": "ln_2",
    "mlp.fc1": "mlp.c_fc",
    "mlp.fc2": "mlp.c_proj",
}


# --------------------------------------------------------------------------- helpers
def _per_block(value, n_blocks: int) -> list[int]:
    return list(value) if isinstance(value, (list, tuple)) else [value] * n_blocks


def _rename_suffix(suffix: str, renames: Mapping[str, str]) -> str:
    for old, new in renames.items():
        if suffix == old or suffix.startswith(old + "."):
            return new + suffix[len(old):]
    return suffix


def _apply_prefix_map(state_dict, prefix_map, out_prefix: str) -> dict:
    """Rename keys by their longest known prefix.

    ``prefix_map`` maps a diffusers prefix (without trailing dot) to
    ``(ldm_prefix, suffix_renames)``.
    """
    out = {}
    for key, tensor in state_dict.items():
        parts = key.split(".")
        for n in range(len(parts) - 1, 0, -1):
            head = ".".join(parts[:n])
            if head in prefix_map:
                ldm_head, renames = prefix_map[head]
                suffix = _rename_suffix(".".join(parts[n:]), renames)
                out[out_prefix + ldm_head + "." + suffix] = tensor
                break
        else:
            raise KeyError(f"no LDM name for diffusers key {key!r}")
    return out


# --------------------------------------------------------------------------- UNet
def _unet_prefix_map(config: Mapping) -> dict:
    down_types = list(config["down_block_types"])
    up_types = list(config["up_block_types"])
    layers = _per_block(config["layers_per_block"], len(down_types))
    plain = {}
    m = {
        "conv_in": ("input_blocks.0.0", plain),
        "time_embedding.linear_1": ("time_embed.0", plain),
        "time_embedding.linear_2": ("time_embed.2", plain),
        "add_embedding.linear_1": ("label_emb.0.0", plain),
        "add_embedding.linear_2": ("label_emb.0.2", plain),
        "class_embedding.linear_1": ("label_emb.0.0", plain),
        "class_embedding.linear_2": ("label_emb.0.2", plain),
        "conv_norm_out": ("out.0", plain),
        "conv_out": ("out.2", plain),
        "mid_block.resnets.0": ("middle_block.0", _UNET_RESNET_RENAMES),
        "mid_block.attentions.0": ("middle_block.1", plain),
        "mid_block.resnets.1": ("middle_block.2", _UNET_RESNET_RENAMES),
    }
    i = 1
    for b, n_layers in enumerate(layers):
        for layer in range(n_layers):
            m[f"down_blocks.{b}.resnets.{layer}"] = (f"input_blocks.{i}.0", _UNET_RESNET_RENAMES)
            m[f"down_blocks.{b}.attentions.{layer}"] = (f"input_blocks.{i}.1", plain)
            i += 1
        if b != len(down_types) - 1:
            m[f"down_blocks.{b}.downsamplers.0.conv"] = (f"input_blocks.{i}.0.op", plain)
            i += 1
    up_layers = list(reversed(layers))
    o = 0
    for b, up_type in enumerate(up_types):
        has_attention = "CrossAttn" in up_type
        for layer in range(up_layers[b] + 1):
            m[f"up_blocks.{b}.resnets.{layer}"] = (f"output_blocks.{o}.0", _UNET_RESNET_RENAMES)
            m[f"up_blocks.{b}.attentions.{layer}"] = (f"output_blocks.{o}.1", plain)
            if layer == up_layers[b] and b != len(up_types) - 1:
                m[f"up_blocks.{b}.upsamplers.0.conv"] = (f"output_blocks.{o}.{2 if has_attention else 1}.conv", plain)
            o += 1
    return m


def unet_to_ldm(state_dict: Mapping, config: Mapping, prefix: str = UNET_PREFIX) -> dict:
    """A diffusers ``UNet2DConditionModel`` state dict in LDM names."""
    return _apply_prefix_map(state_dict, _unet_prefix_map(config), prefix)


# --------------------------------------------------------------------------- VAE
def _vae_prefix_map(config: Mapping) -> dict:
    plain = {}
    m = {name: (name, plain) for name in ("quant_conv", "post_quant_conv")}
    for side in ("encoder", "decoder"):
        m[f"{side}.conv_in"] = (f"{side}.conv_in", plain)
        m[f"{side}.conv_out"] = (f"{side}.conv_out", plain)
        m[f"{side}.conv_norm_out"] = (f"{side}.norm_out", plain)
        m[f"{side}.mid_block.attentions.0"] = (f"{side}.mid.attn_1", _VAE_ATTENTION_RENAMES)
        for r in range(2):
            m[f"{side}.mid_block.resnets.{r}"] = (f"{side}.mid.block_{r + 1}", _VAE_RESNET_RENAMES)
    n_down = len(config["down_block_types"])
    for i in range(n_down):
        for j in range(config["layers_per_block"]):
            m[f"encoder.down_blocks.{i}.resnets.{j}"] = (f"encoder.down.{i}.block.{j}", _VAE_RESNET_RENAMES)
        m[f"encoder.down_blocks.{i}.downsamplers.0.conv"] = (f"encoder.down.{i}.downsample.conv", plain)
    n_up = len(config["up_block_types"])
    for i in range(n_up):
        ldm_i = n_up - 1 - i
        for j in range(config["layers_per_block"] + 1):
            m[f"decoder.up_blocks.{i}.resnets.{j}"] = (f"decoder.up.{ldm_i}.block.{j}", _VAE_RESNET_RENAMES)
        m[f"decoder.up_blocks.{i}.upsamplers.0.conv"] = (f"decoder.up.{ldm_i}.upsample.conv", plain)
    return m


def vae_to_ldm(state_dict: Mapping, config: Mapping, prefix: str = VAE_PREFIX) -> dict:
    """A diffusers ``AutoencoderKL`` state dict in LDM names (attention weights as 1x1 convs)."""
    out = _apply_prefix_map(state_dict, _vae_prefix_map(config), prefix)
    for key, tensor in out.items():
        is_attn_weight = ".mid.attn_1." in key and key.endswith(("q.weight", "k.weight", "v.weight", "proj_out.weight"))
        if is_attn_weight and tensor.ndim == 2:
            out[key] = tensor[:, :, None, None]
    return out


# --------------------------------------------------------------------------- text encoders
def _with_text_model_prefix(state_dict: Mapping) -> dict:
    """transformers >= 5.6 flattens ``CLIPTextModel`` (no ``text_model.``); LDM files keep it."""
    out = {}
    for key, tensor in state_dict.items():
        if key.startswith(("text_model.", "text_projection.")):
            out[key] = tensor
        else:
            out["text_model." + key] = tensor
    return out


def clip_to_ldm(state_dict: Mapping, prefix: str = SD1_CLIP_PREFIX) -> dict:
    """An OpenAI-CLIP ``CLIPTextModel`` state dict in LDM names (SD 1.x / SDXL's first encoder)."""
    return {prefix + key: t for key, t in _with_text_model_prefix(state_dict).items() if key != "text_projection.weight"}


def open_clip_to_ldm(state_dict: Mapping, prefix: str = SD2_OPEN_CLIP_PREFIX) -> dict:
    """A ``CLIPTextModel``/``CLIPTextModelWithProjection`` in OpenCLIP names (SD 2.x / SDXL's second encoder).

    q/k/v projections are fused into ``in_proj_weight``/``in_proj_bias`` and the
    projection is transposed, as OpenCLIP stores them.
    """
    import torch

    sd = _with_text_model_prefix(state_dict)
    out = {}
    fixed = {
        "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
        "text_model.embeddings.position_embedding.weight": "positional_embedding",
        "text_model.final_layer_norm.weight": "ln_final.weight",
        "text_model.final_layer_norm.bias": "ln_final.bias",
    }
    layer_prefix = "text_model.encoder.layers."
    for key, tensor in sd.items():
        if key in fixed:
            out[prefix + fixed[key]] = tensor
        elif key == "text_projection.weight":
            out[prefix + "text_projection"] = tensor.T.contiguous()
        elif key == "text_model.embeddings.position_ids":
            continue
        elif key.startswith(layer_prefix):
            index, rest = key[len(layer_prefix):].split(".", 1)
            block = f"{prefix}transformer.resblocks.{index}."
            if rest.startswith(("self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj.")):
                if rest.startswith("self_attn.q_proj."):
                    kind = rest.rsplit(".", 1)[1]  # weight / bias
                    parts = [sd[f"{layer_prefix}{index}.self_attn.{p}_proj.{kind}"] for p in "qkv"]
                    out[f"{block}attn.in_proj_{kind}"] = torch.cat(parts, dim=0)
            else:
                out[block + _rename_suffix(rest, _OPEN_CLIP_LAYER_RENAMES)] = tensor
        else:
            raise KeyError(f"no OpenCLIP name for text encoder key {key!r}")
    return out


def uses_open_clip(text_encoder) -> bool:
    """OpenCLIP-trained encoders (SD 2.x) use exact GELU; OpenAI CLIP (SD 1.x) uses quick_gelu."""
    return getattr(text_encoder.config, "hidden_act", "quick_gelu") == "gelu"


# --------------------------------------------------------------------------- whole pipeline
def pipeline_to_ldm(components: Mapping) -> dict:
    """The single-file state dict of a diffusers SD pipeline's ``components``.

    ``components`` is ``pipe.components`` (or any mapping with ``unet``, ``vae``,
    ``text_encoder`` and for SDXL ``text_encoder_2`` modules).
    """
    unet, vae, te = components["unet"], components["vae"], components["text_encoder"]
    out = unet_to_ldm(unet.state_dict(), unet.config)
    out.update(vae_to_ldm(vae.state_dict(), vae.config))
    te2 = components.get("text_encoder_2")
    if te2 is not None:
        out.update(clip_to_ldm(te.state_dict(), SDXL_CLIP_PREFIX))
        out.update(open_clip_to_ldm(te2.state_dict(), SDXL_OPEN_CLIP_PREFIX))
    elif uses_open_clip(te):
        out.update(open_clip_to_ldm(te.state_dict(), SD2_OPEN_CLIP_PREFIX))
    else:
        out.update(clip_to_ldm(te.state_dict(), SD1_CLIP_PREFIX))
    return out


def save_single_file(components: Mapping, path, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``pipeline_to_ldm(components)`` as one safetensors file."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in pipeline_to_ldm(components).items()}
    save_file(state, str(path), metadata=dict(metadata or {"format": "pt"}))
