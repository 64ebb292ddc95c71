"""Tiny, seeded, random-weight Stable Diffusion 1.x models for tests.

Sizes follow diffusers' own pipeline tests (UNet with 4/8 channels, 2-block VAE,
a 32-wide CLIP text encoder) but the tokenizer is the real CLIP tokenizer shipped
in ``core/pipeline_configs/sd15/tokenizer``, so the text encoder keeps the real
49408-token vocabulary. Everything is built from the same seed, so two builds
give identical weights and files.

Plain functions, no pytest: other test modules (library uploads, API tests)
call ``build_tiny_sd15(tmp_dir)`` and use the returned paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "core" / "pipeline_configs"

# Modules of the tiny UNet that the tiny LoRA adapts (kohya names use "_" for ".").
LORA_TARGETS = (
    "down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q",
    "down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_v",
    "down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k",
    "mid_block_attentions_0_transformer_blocks_0_attn1_to_out_0",
    "up_blocks_0_attentions_0_transformer_blocks_0_attn2_to_q",
    "up_blocks_0_attentions_1_transformer_blocks_0_attn1_to_k",
)


@dataclass(frozen=True)
class TinyModelPaths:
    """Where ``build_tiny_sd15`` put things."""

    diffusers_dir: Path  # a diffusers folder (model_index.json + safetensors weights)
    single_file: Path  # an A1111/LDM-layout single safetensors file ...
    single_file_config: Path  # ... and its ``<name>.config/`` configs-only folder beside it
    lora: Path  # a kohya-style LoRA for the tiny UNet


def _tiny_unet(seed: int, **overrides):
    import torch
    from diffusers import UNet2DConditionModel

    config = dict(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=2,
    )
    config.update(overrides)
    torch.manual_seed(seed)
    return UNet2DConditionModel(**config).eval()


def tiny_vae(seed: int = 0):
    """A 2-block VAE (8x smaller than SD's, so 64x64 images have 32x32 latents)."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(
        block_out_channels=[4, 8],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=2,
        sample_size=64,
    ).eval()


def _tiny_text_encoder(seed: int, hidden_act: str = "quick_gelu", with_projection: bool = False, hidden: int = 32):
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=2,
        hidden_size=hidden,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        pad_token_id=1,
        vocab_size=49408,  # the real CLIP vocabulary: the tokenizer is the shipped one
        max_position_embeddings=77,
        hidden_act=hidden_act,
        projection_dim=32,
    )
    torch.manual_seed(seed)
    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    return cls(config).eval()


def _shipped(base: str, component: str, cls_name: str):
    """A tokenizer or scheduler from ``core/pipeline_configs/<base>/<component>``."""
    import diffusers
    import transformers

    cls = getattr(diffusers, cls_name, None) or getattr(transformers, cls_name)
    return cls.from_pretrained(str(CONFIGS_DIR / base), subfolder=component, local_files_only=True)


def tiny_sd15_components(seed: int = 0) -> dict:
    """The modules of a tiny SD 1.x pipeline, with weights drawn from ``seed``."""
    return {
        "unet": _tiny_unet(seed),
        "vae": tiny_vae(seed),
        "text_encoder": _tiny_text_encoder(seed),
        "tokenizer": _shipped("sd15", "tokenizer", "CLIPTokenizer"),
        "scheduler": _shipped("sd15", "scheduler", "PNDMScheduler"),
    }


def _sd_pipeline(components: dict):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        **components, safety_checker=None, feature_extractor=None, image_encoder=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tiny_sd15_pipeline(seed: int = 0):
    return _sd_pipeline(tiny_sd15_components(seed))


def tiny_sd2_pipeline(seed: int = 0):
    """SD 2.x layout: OpenCLIP-style (gelu) text encoder, linear projections, v-prediction."""
    return _sd_pipeline({
        "unet": _tiny_unet(seed, use_linear_projection=True, attention_head_dim=(2, 4), upcast_attention=True),
        "vae": tiny_vae(seed),
        "text_encoder": _tiny_text_encoder(seed, hidden_act="gelu"),
        "tokenizer": _shipped("sd2", "tokenizer", "CLIPTokenizer"),
        "scheduler": _shipped("sd2", "scheduler", "DDIMScheduler"),
    })


def tiny_sdxl_pipeline(seed: int = 0):
    """SDXL layout (as diffusers' SDXL tests): two text encoders, text_time added conditioning."""
    from diffusers import StableDiffusionXLPipeline

    unet = _tiny_unet(
        seed,
        layers_per_block=2,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80,  # 6 * 8 time ids + 32 pooled text
        cross_attention_dim=80,  # both encoders' hidden states side by side (32 + 48)
    )
    pipe = StableDiffusionXLPipeline(
        unet=unet,
        vae=tiny_vae(seed),
        text_encoder=_tiny_text_encoder(seed),
        # A width other than the first encoder's: diffusers tells the two apart by it.
        text_encoder_2=_tiny_text_encoder(seed + 1, hidden_act="gelu", with_projection=True, hidden=48),
        tokenizer=_shipped("sdxl", "tokenizer", "CLIPTokenizer"),
        tokenizer_2=_shipped("sdxl", "tokenizer_2", "CLIPTokenizer"),
        scheduler=_shipped("sdxl", "scheduler", "EulerDiscreteScheduler"),
        image_encoder=None,
        feature_extractor=None,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_configs_only(pipe, out_dir: Path) -> Path:
    """Write a pipeline's configs and tokenizer, without weights (the ``<name>.config/`` layout)."""
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pipe.save_config(str(out_dir))  # model_index.json
    for name, module in pipe.components.items():
        sub = out_dir / name
        if module is None:
            continue
        if isinstance(module, PreTrainedTokenizerBase):
            module.save_pretrained(str(sub))
        elif isinstance(module, PreTrainedModel):
            module.config.save_pretrained(str(sub))
        else:  # diffusers models and schedulers
            module.save_config(str(sub))
    return out_dir


def save_tiny_lora(unet, path: Path, rank: int = 4, alpha: float = 2.0, seed: int = 1) -> Path:
    """A kohya-style LoRA (``lora_unet_*.lora_down/lora_up/alpha``) for some tiny-UNet projections.

    Both matrices are random (a trained LoRA's up matrix is not zero), so the
    LoRA visibly changes the image.
    """
    import torch
    from safetensors.torch import save_file

    modules = dict(unet.named_modules())
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for target in LORA_TARGETS:
        name = _kohya_to_module_name(target)
        linear = modules[name]
        out_f, in_f = linear.weight.shape
        state[f"lora_unet_{target}.lora_down.weight"] = torch.randn(rank, in_f, generator=gen) * 0.5
        state[f"lora_unet_{target}.lora_up.weight"] = torch.randn(out_f, rank, generator=gen) * 0.5
        state[f"lora_unet_{target}.alpha"] = torch.tensor(alpha)
    metadata = {
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(rank),
        "ss_network_alpha": str(alpha),
        "ss_base_model_version": "sd_v1",
        "ss_output_name": Path(path).stem,
    }
    save_file(state, str(path), metadata=metadata)
    return Path(path)


def _kohya_to_module_name(target: str) -> str:
    """``down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q`` -> dotted module path."""
    name = target.replace("_", ".")
    for joined in ("down.blocks", "up.blocks", "mid.block", "transformer.blocks", "to.q", "to.k", "to.v", "to.out"):
        name = name.replace(joined, joined.replace(".", "_"))
    return name


def save_tiny_single_file(pipe, tmp_dir, name: str) -> tuple[Path, Path]:
    """``<name>.safetensors`` (LDM layout) and its ``<name>.config/`` folder, in ``tmp_dir``."""
    from core.generation.ldm_convert import save_single_file

    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    single_file = tmp_dir / f"{name}.safetensors"
    save_single_file(pipe.components, single_file)
    return single_file, save_configs_only(pipe, tmp_dir / f"{name}.config")


def build_tiny_sd15(tmp_dir, seed: int = 0, name: str = "tiny_sd15") -> TinyModelPaths:
    """Build the tiny model once and save it as a diffusers folder, a single file and a LoRA."""
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    pipe = tiny_sd15_pipeline(seed)
    diffusers_dir = tmp_dir / f"{name}_diffusers"
    pipe.save_pretrained(str(diffusers_dir), safe_serialization=True)
    single_file, config_dir = save_tiny_single_file(pipe, tmp_dir, name)
    lora = save_tiny_lora(pipe.unet, tmp_dir / f"{name}_lora.safetensors")
    return TinyModelPaths(diffusers_dir, single_file, config_dir, lora)


def read_model_index(folder: Path) -> dict:
    return json.loads((Path(folder) / "model_index.json").read_text())


def save_tiny_upscaler(path: Path, arch: str = "rrdb", scale: int = 4, seed: int = 0, features: int = 8) -> Path:
    """A random-weight upscaler of the ESRGAN family as a safetensors file: ``rrdb`` (Real-ESRGAN's layout),
    ``esrgan`` (the original ESRGAN layout of the same network, 4x) or ``compact`` (SRVGGNetCompact)."""
    import torch
    from safetensors.torch import save_file

    from core.generation.upscaler_nets import RRDBNet, SRVGGNetCompact
    from core.library.upscaler_kind import UpscalerShape

    torch.manual_seed(seed)
    if arch == "compact":
        weights = SRVGGNetCompact(UpscalerShape("compact", scale, features, 2)).state_dict()
    else:
        weights = RRDBNet(UpscalerShape("rrdb", scale, features, 2, features // 2)).state_dict()
        if arch == "esrgan":
            weights = rrdb_to_esrgan_layout(weights, blocks=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: value.contiguous() for key, value in weights.items()}, str(path))
    return path


def rrdb_to_esrgan_layout(weights: dict, blocks: int) -> dict:
    """RRDBNet's names as the original ESRGAN code saved them (``body.3.rdb2.conv4`` -> ``model.1.sub.3.RDB2.conv4.0``)."""
    top = {"conv_first": "model.0", "conv_up1": "model.3", "conv_up2": "model.6", "conv_hr": "model.8",
           "conv_last": "model.10", "conv_body": f"model.1.sub.{blocks}"}
    renamed = {}
    for key, value in weights.items():
        module, _, param = key.rpartition(".")
        if module in top:
            renamed[f"{top[module]}.{param}"] = value
        else:
            _, block, rdb, conv = module.split(".")
            renamed[f"model.1.sub.{block}.{rdb.upper()}.{conv}.0.{param}"] = value
    return renamed


def build_tiny_sd15_inpainting(tmp_dir, seed: int = 0, name: str = "tiny_sd15_inpainting") -> tuple[Path, Path]:
    """A tiny SD 1.x inpainting checkpoint (its UNet takes 4 + 1 + 4 channels) as a single file and its configs."""
    components = tiny_sd15_components(seed) | {"unet": _tiny_unet(seed, in_channels=9)}
    return save_tiny_single_file(_sd_pipeline(components), tmp_dir, name)
