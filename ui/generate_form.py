"""The Generate form's plain parts: its values as service parameters, the service's refusals and the queue's
progress in the page's language, and the small events that need nothing of the app (LoRA picker, seed buttons,
the gallery's selection)."""

from __future__ import annotations

import gradio as gr

from core.errors import VisionaryError
from core.generation.limits import StepTooLarge, TooMuchWork
from core.generation.pnginfo import parse_parameters, to_request_fields
from core.generation.queue import TooManyQueued
from core.generation.service import GenerateParams, SettingOutOfRange

from . import errors
from .i18n import text


def _whole(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def form_params(prompt, negative_prompt, checkpoint, vae, sampler, schedule_type, steps, width, height,
                cfg_scale, seed, batch_size, clip_skip=1, **mode) -> GenerateParams:
    """The form's values as service parameters (the service checks them); a typed checkpoint is a name; ``mode``:
    the img2img or hires fields (``ui.generate_modes.mode_fields``)."""
    by_id = isinstance(checkpoint, int) and not isinstance(checkpoint, bool)
    return GenerateParams(**mode,
        prompt=prompt or "", negative_prompt=negative_prompt or "",
        model_id=checkpoint if by_id else None, model_name=None if by_id else (checkpoint or None),
        vae_id=_whole(vae) or None, sampler=sampler or "Euler a", scheduler=schedule_type or "automatic",
        steps=_whole(steps), width=_whole(width), height=_whole(height), cfg_scale=cfg_scale,
        seed=-1 if seed is None else _whole(seed), batch_size=_whole(batch_size), keep_interrupted=False,
        clip_skip=1 if clip_skip is None else _whole(clip_skip))


RANGED_SETTINGS = ("width", "height", "steps", "batch_size", "cfg_scale", "seed", "clip_skip")


def refusal(exc: VisionaryError, lang: str) -> str:
    """A service's refusal in ``lang``; the work budget and the queued-runs cap name their numbers."""
    if isinstance(exc, TooMuchWork):
        return text("generate.too_much_work", lang, work=f"{exc.work:g}", width=exc.width, height=exc.height,
                    steps=exc.steps, images=exc.images, limit=f"{exc.limit:g}", device=exc.device_kind)
    if isinstance(exc, StepTooLarge):
        return text("generate.step_too_large", lang, megapixels=f"{exc.megapixels:g}", width=exc.width,
                    height=exc.height, images=exc.images, limit=f"{exc.step_limit:g}", device=exc.device_kind)
    if isinstance(exc, TooManyQueued):
        return text("generate.too_many_queued", lang, limit=exc.limit)
    if isinstance(exc, SettingOutOfRange):
        name = text(f"generate.{exc.name}", lang) if exc.name in RANGED_SETTINGS else exc.name
        if exc.multiple is not None:
            return text("generate.not_a_multiple", lang, name=name, multiple=exc.multiple, value=exc.value)
        return text("generate.out_of_range", lang, name=name, low=exc.low, high=exc.high, value=exc.value)
    return errors.refusal(exc, lang)


def progress_reporter(progress: gr.Progress, lang: str):
    """``on_update`` for ``run_generation``: queue position while waiting, then steps."""

    def on_update(job) -> None:
        position = job.position
        if position:
            progress(0.0, desc=text("generate.waiting", lang, position=position))
        elif job.total:
            progress((job.step, job.total), desc=text("generate.generating", lang),
                     unit=text("generate.steps_unit", lang))
        elif not job.finished:
            progress(0.0, desc=text("generate.loading_checkpoint", lang))

    return on_update


def insert_lora(prompt: str, tag: str | None):
    """Append the chosen LoRA's tag to the prompt and clear the picker."""
    if not tag:
        return gr.skip(), None
    prompt = (prompt or "").rstrip()
    return (f"{prompt} {tag}" if prompt else tag), None


def show_selected(texts: list[str], event: gr.SelectData) -> str:
    return texts[event.index] if texts and 0 <= event.index < len(texts) else ""


def chosen_index(event: gr.SelectData) -> int:
    return event.index


def seed_of(parameters: str):
    """The seed in the shown parameters (A1111's "reuse seed" button)."""
    seed = to_request_fields(parse_parameters(parameters)).get("seed") if parameters else None
    return gr.skip() if seed is None else seed
