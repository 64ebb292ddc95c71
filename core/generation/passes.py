"""The denoising passes of one image: txt2img, img2img from an init picture, and hires fix's second pass.

``conditioning`` is the prompts' embeddings (``core.generation.prompt_encoding.encode_prompts``), made once per
run; ``hooks`` is the run's step callback (progress, interrupt, skip), told which pass is running.
"""

from __future__ import annotations

from core.generation.hires import upscale_latents, upscale_picture
from core.generation.img2img import denoised_steps, fit_picture, img2img_pipeline, picture_of
from core.generation.inpaint import inpaint_pipeline, overlay, prepared_mask, starting_picture
from core.generation.lora import parse_lora_tags
from core.generation.prompt_encoding import encode_prompts


def make_image(run, request, seed: int, hooks, conditioning: dict, upscaler_net=None):
    """One image of ``request`` (a ``GenerationRequest``) with ``seed``; ``upscaler_net`` is the hires fix's
    library upscaler, loaded."""
    if request.is_img2img:
        start = fit_picture(picture_of(request.init_image), request.width, request.height, request.resize_mode)
        if request.inpaint is not None:
            return _inpaint(run, request, conditioning, start, seed, hooks)
        return _img2img(run, conditioning, start, request.steps, request.denoising_strength, request.cfg_scale,
                        seed, hooks)
    hires = request.hires
    hooks.pass_index = 0
    first = _txt2img(run, request, conditioning, seed, hooks, "latent" if hires and hires.is_latent else "pil")
    if hires is None:
        return first
    hooks.pass_index = 1
    upscaled = upscale_latents(first, hires, request.width, request.height) if hires.is_latent else \
        upscale_picture(first, hires, upscaler_net)
    if hires.prompt or hires.negative_prompt:
        conditioning = encode_prompts(run, parse_lora_tags(hires.prompt or request.prompt)[0],
                                      hires.negative_prompt or request.negative_prompt, request.clip_skip)
    return _img2img(run, conditioning, upscaled, hires.steps or request.steps, hires.denoising_strength,
                    request.cfg_scale, seed, hooks)


def _generator(seed: int):
    import torch

    return torch.Generator("cpu").manual_seed(seed)


def is_inpainting_model(run) -> bool:
    """A checkpoint trained for inpainting (its UNet also takes the mask and the masked picture)."""
    from core.pipeline import INPAINT_IN_CHANNELS

    return run.unet.config.in_channels == INPAINT_IN_CHANNELS


def _everything_masked(run, picture, conditioning: dict, strength: float, steps: int, cfg_scale: float, seed: int,
                       hooks, output_type: str = "pil"):
    """An inpainting checkpoint's txt2img or img2img, as A1111 runs it: the whole picture masked (txt2img starts
    from mid-grey at full strength)."""
    from PIL import Image

    output = inpaint_pipeline(run)(
        **conditioning, image=picture, mask_image=Image.new("L", picture.size, 255), width=picture.width,
        height=picture.height, strength=float(strength), num_inference_steps=steps, guidance_scale=float(cfg_scale),
        generator=_generator(seed), callback_on_step_end=hooks, output_type=output_type)
    return output.images if output_type == "latent" else output.images[0]


def _txt2img(run, request, conditioning: dict, seed: int, hooks, output_type: str):
    if is_inpainting_model(run):
        from PIL import Image

        grey = Image.new("RGB", (request.width, request.height), (127, 127, 127))
        return _everything_masked(run, grey, conditioning, 1.0, request.steps, request.cfg_scale, seed, hooks,
                                  output_type)
    output = run(**conditioning, width=request.width, height=request.height, num_inference_steps=request.steps,
                 guidance_scale=float(request.cfg_scale), generator=_generator(seed), callback_on_step_end=hooks,
                 output_type=output_type)
    return output.images if output_type == "latent" else output.images[0]


def _img2img(run, conditioning: dict, start, steps: int, strength: float, cfg_scale: float, seed: int, hooks):
    """Denoise ``start`` (a picture, or latents for a latent hires pass) with ``strength``; a strength too small
    for one step keeps it (A1111's denoising 0: the init picture back)."""
    import torch

    if denoised_steps(steps, strength) < 1 or hooks.stopped:
        return start if not isinstance(start, torch.Tensor) else _decode(run, start)
    if is_inpainting_model(run):
        start = _decode(run, start) if isinstance(start, torch.Tensor) else start
        return _everything_masked(run, start, conditioning, strength, steps, cfg_scale, seed, hooks)
    output = img2img_pipeline(run)(**conditioning, image=start, strength=float(strength), num_inference_steps=steps,
                                   guidance_scale=float(cfg_scale), generator=_generator(seed),
                                   callback_on_step_end=hooks, output_type="pil")
    return output.images[0]


def _inpaint(run, request, conditioning: dict, original, seed: int, hooks):
    """Repaint inside the mask (``core.generation.inpaint``); outside it the original stays."""
    inpaint = request.inpaint
    mask = prepared_mask(inpaint, original.size, request.resize_mode)
    start = starting_picture(original, mask, inpaint.masked_content, seed)
    if denoised_steps(request.steps, request.denoising_strength) < 1 or hooks.stopped:
        return overlay(original, start, mask)
    output = inpaint_pipeline(run)(
        **conditioning, image=start, mask_image=mask, width=original.width, height=original.height,
        strength=float(request.denoising_strength), num_inference_steps=request.steps,
        guidance_scale=float(request.cfg_scale), generator=_generator(seed), callback_on_step_end=hooks,
        output_type="pil", padding_mask_crop=inpaint.only_masked_padding if inpaint.only_masked else None)
    made = output.images[0]
    return made if inpaint.only_masked else overlay(original, made, mask)  # only masked: diffusers pasted it back


def _decode(run, latents):
    """Latents to a picture through the checkpoint's VAE (a latent hires pass that was stopped or had no step)."""
    pictures = run.vae.decode(latents / run.vae.config.scaling_factor, return_dict=False)[0]
    return run.image_processor.postprocess(pictures, output_type="pil")[0]
