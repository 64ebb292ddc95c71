"""The Extras tab as a service: upscale one picture or several, as A1111's Extras and ``extra-single-image``.

Upscaling runs on the generation backend (the local process or a Ray replica) through the same queue as images,
so it shares the device, the turn order between users and the per-user cap. The result keeps the source's
``parameters`` (A1111 does too) and says how it was upscaled (``Postprocess upscale by``, ``Postprocess
upscaler``), which A1111 shows as its ``html_info``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from core.accounts.accounts import UserInfo
from core.errors import InvalidInput, NotAuthenticated, NotFound, VisionaryError
from core.generation.queue import JobCancelled, wait_reporting
from core.generation.resources import models_of_type, primary_file
from core.generation.upscaling import BUILT_IN, NONE, UpscaleSize
from core.library.model_records import ModelRecord

MAX_SCALE = 8
MAX_SIDE = 8192
MAX_PIXELS = 4096 * 4096  # of one result: a 1024² picture upscaled 4×


@dataclass(frozen=True)
class ExtrasParams:
    """A1111's Extras settings: scale by ``scale``, or to ``width`` × ``height`` (both set) with ``crop``."""

    picture: bytes
    upscaler: str = NONE
    scale: float = 2.0
    width: int = 0
    height: int = 0
    crop: bool = False
    upscaler_2: str = NONE
    upscaler_2_visibility: float = 0.0


@dataclass(frozen=True)
class ExtrasResult:
    png: bytes  # the upscaled picture, with the source's parameters
    width: int
    height: int
    info: str  # "Postprocess upscale by: 2, Postprocess upscaler: …"


def upscaler_choices(actor: UserInfo | None) -> list[str]:
    """Every upscaler the actor may use, as A1111's Extras lists them: built-ins first, then library models."""
    return [*BUILT_IN, *(model.name for model in upscaler_models(actor))]


def upscaler_models(actor: UserInfo | None) -> list[ModelRecord]:
    return models_of_type(actor, "upscaler")


@dataclass(frozen=True)
class UpscalerEntry:
    """A library upscaler as listings show it."""

    name: str
    stored_path: str
    scale: int
    arch: str  # core.library.upscaler_kind: rrdb, esrgan or compact


def upscaler_listing(actor: UserInfo | None, models_path) -> list[UpscalerEntry]:
    """The library upscalers the actor may use, with the scale and layout their weights show."""
    from core.library.upscaler_kind import upscaler_shape
    from core.pipeline import ModelLoadError, safetensors_shapes

    entries = []
    for model in upscaler_models(actor):
        record = primary_file(model)
        try:
            shape = upscaler_shape(safetensors_shapes(models_path / record.stored_path))
        except (ModelLoadError, OSError):
            shape = None
        entries.append(UpscalerEntry(model.name, record.stored_path, shape.scale if shape else 0,
                                     shape.arch if shape else ""))
    return entries


def find_upscaler(actor: UserInfo | None, name: str) -> ModelRecord | None:
    """The library model called ``name`` (any case; None for a built-in); an unknown name is refused with the
    list of upscalers the actor may use."""
    wanted = (name or NONE).strip()
    if wanted in BUILT_IN:
        return None
    for model in upscaler_models(actor):
        if wanted.lower() in (model.name.lower(), primary_file(model).original_name.lower()):
            return model
    raise NotFound(f"no upscaler named {wanted!r}; this server has: {', '.join(upscaler_choices(actor))}")


def target_size(params: ExtrasParams, width: int, height: int) -> UpscaleSize:
    """Where the picture goes; a size past this server's limits is refused with the limit named."""
    if params.width or params.height:
        if not (params.width > 0 and params.height > 0):
            raise InvalidInput("give both upscaling_resize_w and upscaling_resize_h (or neither, and a scale)")
        size = UpscaleSize(params.width, params.height, params.crop)
    else:
        if not (isinstance(params.scale, (int, float)) and math.isfinite(params.scale)
                and 1 <= params.scale <= MAX_SCALE):
            raise InvalidInput(f"upscaling_resize must be between 1 and {MAX_SCALE}, got {params.scale!r}")
        size = UpscaleSize(round(width * params.scale), round(height * params.scale))
    if max(size.width, size.height) > MAX_SIDE or size.width * size.height > MAX_PIXELS:
        raise InvalidInput(f"the result would be {size.width}x{size.height}: past this server's limit of "
                           f"{MAX_PIXELS:,} pixels ({MAX_SIDE} a side)")
    if not 0 <= params.upscaler_2_visibility <= 1:
        raise InvalidInput(f"extras_upscaler_2_visibility must be between 0 and 1, got {params.upscaler_2_visibility!r}")
    return size


def _info(params: ExtrasParams, size: UpscaleSize, width: int) -> str:
    how = (f"Postprocess upscale to: {size.width}x{size.height}, Postprocess crop to fit: {params.crop}"
           if params.width else f"Postprocess upscale by: {size.width / width:g}")
    info = f"{how}, Postprocess upscaler: {params.upscaler}"
    if params.upscaler_2 != NONE and params.upscaler_2_visibility > 0:
        info += f", Postprocess upscaler 2: {params.upscaler_2}, Postprocess upscaler 2 visibility: " \
                f"{params.upscaler_2_visibility:g}"
    return info


class ExtrasJob:
    """The work one queued upscale does (on the queue's worker thread)."""

    def __init__(self, context, actor: UserInfo, params: ExtrasParams):
        from core.generation.backend import UpscaleTask
        from core.generation.img2img import png_of
        from core.generation.pnginfo import read_parameters
        from core.pictures import decode_picture

        self.context, self.params = context, params
        first, second = find_upscaler(actor, params.upscaler), find_upscaler(actor, params.upscaler_2)
        try:
            picture = decode_picture(params.picture)
        except VisionaryError as exc:
            raise type(exc)(f"the image: {exc.message}") from None
        self.source_parameters = read_parameters(picture)
        self.size = target_size(params, picture.width, picture.height)
        self.info = _info(params, self.size, picture.width)
        self.task = UpscaleTask(png_of(picture), self.size, params.upscaler, self._ref(first), params.upscaler_2,
                                self._ref(second), params.upscaler_2_visibility, context.config.device, actor.id)

    def _ref(self, model: ModelRecord | None):
        from core.generation.backend import file_ref

        return file_ref(self.context.config.models_path, primary_file(model)) if model else None

    def __call__(self, job) -> ExtrasResult:
        from core.generation.pnginfo import png_bytes
        from core.pipeline import ModelLoadError

        try:
            outcome = self.context.generator.run(self.task, report=job.report, should_stop=job.should_stop)
        except ModelLoadError as exc:
            raise InvalidInput(f"the upscaler cannot be loaded: {exc}") from None
        except InvalidInput:
            if job.should_stop():
                raise JobCancelled("the upscale was cancelled") from None
            raise
        picture = outcome.images[0][0]
        return ExtrasResult(png_bytes(picture, self.source_parameters), picture.width, picture.height, self.info)


def submit_extras(context, actor: UserInfo | None, params: ExtrasParams):
    """Check and queue an upscale; returns the queue's Job at once (bad input raises before queueing)."""
    if actor is None:
        raise NotAuthenticated("log in to upscale images")
    work = ExtrasJob(context, actor, params)
    return context.queue.submit(work, owner=actor.id, label=f"extras {params.upscaler}")


def run_extras(context, actor: UserInfo | None, params: ExtrasParams,
               on_update: Callable[[object], None] | None = None) -> ExtrasResult:
    """Queue and wait; ``on_update(job)`` whenever its position or progress changes."""
    return wait_reporting(submit_extras(context, actor, params), on_update)
