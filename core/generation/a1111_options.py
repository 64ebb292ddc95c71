"""A1111's settings (``/sdapi/v1/options``) as this server honours them.

``a1111_options.json`` holds A1111's option names and defaults (its ``modules/shared_options.py``), so a client
reading any key A1111 has (``send_seed``, ``samples_format``, ``eta_noise_seed_delta`` …) finds one. Where this
server works differently, the answer says what it does (``samples_format`` is ``png``, live previews are off …).

Three options change generation and are kept per user: ``sd_model_checkpoint``, ``CLIP_stop_at_last_layers`` and
``sd_vae``. The options that would change images, files or the server in a way this server does not implement
(``samples_format``, ``eta_noise_seed_delta``, ``tiling``, sampler parameters …, ``FIXED``) are accepted only at the
value this server works with, and refused naming them otherwise. The rest only concern A1111's own web page
(``send_seed``, ``js_modal_lightbox`` …): they are kept per user as they are sent, so a client reads back what it
set. An option A1111 does not have is refused. Everything is checked before anything is stored; never a 200 that
drops a setting. ``override_settings`` of one request follow the same rules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.accounts.accounts import UserInfo
from core.accounts.preferences import get_preference, set_preference
from core.errors import InvalidInput, NotFound
from core.generation import a1111
from core.generation.resources import models_of_type, primary_file, title_of
from core.generation.upscaling import TILE, TILE_PAD
from core.library.model_records import ModelRecord

DEFAULTS_FILE = Path(__file__).with_name("a1111_options.json")
PAGE_OPTIONS_PREFERENCE = "sdapi.options"  # the A1111 page options a user set, as JSON
FIXED = frozenset({
    "samples_save", "samples_format", "grid_save", "enable_pnginfo", "save_txt", "outdir_samples",
    "outdir_txt2img_samples", "outdir_img2img_samples", "outdir_extras_samples", "sd_checkpoints_limit",
    "sd_checkpoint_hash", "live_previews_enable", "show_progress_every_n_steps", "randn_source", "ESRGAN_tile",
    "ESRGAN_tile_overlap", "realesrgan_enabled_models", "upscaler_for_img2img", "face_restoration",
    "face_restoration_model", "code_former_weight", "tiling", "sd_unet", "enable_quantization", "enable_emphasis",
    "enable_batch_seeds", "comma_padding_backtrack", "upcast_attn", "sd_vae_encode_method", "sd_vae_decode_method",
    "inpainting_mask_weight", "initial_noise_multiplier", "img2img_extra_noise", "img2img_color_correction",
    "img2img_fix_steps", "img2img_background_color", "cross_attention_optimization", "s_min_uncond",
    "pad_cond_uncond", "use_old_emphasis_implementation", "use_old_karras_scheduler_sigmas",
    "no_dpmpp_sde_batch_determinism", "use_old_hires_fix_width_height", "dont_fix_second_order_samplers_schedule",
    "hires_fix_use_firstpass_conds", "use_old_scheduling", "sd_hypernetwork", "add_model_hash_to_info",
    "add_model_name_to_info", "add_user_name_to_info", "add_version_to_infotext",
    "textual_inversion_add_hashes_to_infotext", "eta_ddim", "eta_ancestral", "ddim_discretize", "s_churn", "s_tmin",
    "s_tmax", "s_noise", "k_sched_type", "sigma_min", "sigma_max", "rho", "eta_noise_seed_delta",
    "always_discard_next_to_last_sigma", "api_enable_requests", "api_forbid_local_requests",
})
FIXED_PREFIXES = ("token_merging_ratio", "uni_pc_", "sdxl_")
CLIP_SKIP, VAE, CHECKPOINT = "CLIP_stop_at_last_layers", "sd_vae", "sd_model_checkpoint"
CLIP_SKIP_PREFERENCE, VAE_PREFERENCE = "sdapi.CLIP_stop_at_last_layers", "sdapi.sd_vae"  # clip skip; a VAE's SHA-256
AUTOMATIC, NO_VAE = "Automatic", "None"  # A1111's "the checkpoint's own VAE" (we pair none by file name)


def _defaults() -> dict[str, Any]:
    return json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))


def _what_this_server_does(config) -> dict[str, Any]:
    """The options whose value here is not A1111's default."""
    outputs = config.outputs_path.name
    return {"samples_format": "png", "grid_save": False, "save_txt": False, "sd_checkpoints_limit": config.cache_models,
            "outdir_samples": outputs, "outdir_txt2img_samples": outputs, "outdir_img2img_samples": outputs,
            "outdir_extras_samples": "", "live_previews_enable": False, "show_progress_every_n_steps": -1,
            "randn_source": "CPU", "ESRGAN_tile": TILE, "ESRGAN_tile_overlap": TILE_PAD,
            "realesrgan_enabled_models": [], "add_version_to_infotext": False, "auto_launch_browser": "Disable"}


def options_of(config, actor: UserInfo | None) -> dict[str, Any]:
    """Every A1111 option, as this server works for ``actor``."""
    checkpoint = a1111.chosen_checkpoint(actor)
    vae = chosen_vae(actor)
    return _defaults() | page_options(actor) | _what_this_server_does(config) | {
        CHECKPOINT: title_of(checkpoint) if checkpoint else None,
        "sd_checkpoint_hash": primary_file(checkpoint).sha256 if checkpoint else "",
        CLIP_SKIP: chosen_clip_skip(actor), VAE: primary_file(vae).original_name if vae else AUTOMATIC}


def page_options(actor: UserInfo | None) -> dict[str, Any]:
    """The options of A1111's own page that the actor set."""
    stored = get_preference(actor.id, PAGE_OPTIONS_PREFERENCE) if actor is not None else None
    return json.loads(stored) if stored else {}


def is_fixed(key: str) -> bool:
    return key in FIXED or key.startswith(FIXED_PREFIXES)


def chosen_clip_skip(actor: UserInfo | None) -> int:
    stored = get_preference(actor.id, CLIP_SKIP_PREFERENCE) if actor is not None else None
    return int(stored) if stored else 1


def chosen_vae(actor: UserInfo | None) -> ModelRecord | None:
    """The VAE the actor set with ``sd_vae`` while they may still use it (None: the checkpoint's own)."""
    chosen = get_preference(actor.id, VAE_PREFERENCE) if actor is not None else None
    return next((m for m in models_of_type(actor, "vae") if primary_file(m).sha256 == chosen), None)


def find_vae(actor: UserInfo | None, name: str) -> ModelRecord | None:
    """``sd_vae``'s value: ``Automatic``/``None`` (the checkpoint's own VAE), or a VAE by name or file name."""
    if name in (AUTOMATIC, NO_VAE):
        return None
    for model in models_of_type(actor, "vae"):
        if name in (model.name, primary_file(model).original_name, Path(primary_file(model).original_name).stem):
            return model
    raise NotFound(f"sd_vae: no VAE named {name!r} (GET /sdapi/v1/sd-vae lists them; or Automatic, None)")


def check_clip_skip(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 1 <= value <= 12:
        raise InvalidInput(f"{CLIP_SKIP} must be a whole number from 1 to 12, got {value!r}")
    return int(value)


def check_options(config, actor: UserInfo | None, changes: dict[str, Any]) -> dict[str, Any]:
    """The honoured options among ``changes``, checked (checkpoint and VAE found); raises naming the first option
    this server cannot honour."""
    current = options_of(config, actor)
    honoured: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in current:
            raise InvalidInput(f"unknown option {key!r}: GET /sdapi/v1/options lists the options A1111 has")
        if key == CHECKPOINT:
            if not isinstance(value, str):
                raise InvalidInput("sd_model_checkpoint must be a checkpoint title, name or hash")
            honoured[key] = a1111.find_checkpoint(actor, value)
        elif key == CLIP_SKIP:
            honoured[key] = check_clip_skip(value)
        elif key == VAE:
            if not isinstance(value, str):
                raise InvalidInput("sd_vae must be a VAE's name, Automatic or None")
            honoured[key] = find_vae(actor, value)
        elif is_fixed(key) and value != current[key]:
            raise InvalidInput(f"option {key!r} cannot be changed on this server: it stays {current[key]!r}")
    return honoured


def set_options(store, config, actor: UserInfo, changes: dict[str, Any]) -> None:
    """``POST /sdapi/v1/options``: everything checked first, then the honoured options kept for ``actor``."""
    honoured = check_options(config, actor, changes)
    page = {key: value for key, value in changes.items() if key not in honoured and not is_fixed(key)}
    if page:
        set_preference(store, actor.id, PAGE_OPTIONS_PREFERENCE, json.dumps(page_options(actor) | page))
    if CHECKPOINT in honoured:
        a1111.choose_checkpoint(store, actor, changes[CHECKPOINT])
    if CLIP_SKIP in honoured:
        set_preference(store, actor.id, CLIP_SKIP_PREFERENCE, str(honoured[CLIP_SKIP]))
    if VAE in honoured:
        vae = honoured[VAE]
        set_preference(store, actor.id, VAE_PREFERENCE, primary_file(vae).sha256 if vae else "")
