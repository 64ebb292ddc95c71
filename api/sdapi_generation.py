"""``POST /sdapi/v1/txt2img`` and ``/sdapi/v1/img2img`` with A1111's request and response shapes, over the shared
generation service.

The requests are A1111's ``StableDiffusionTxt2ImgProcessingAPI`` and
``StableDiffusionImg2ImgProcessingAPI``: unknown fields are ignored and a null
field means its default; a field set to something this server cannot honour
(tiling, face restoration, a second-pass sampler of its own) is a 400
naming it, never quietly dropped. An img2img with a ``mask`` inpaints, with A1111's
settings (``mask_blur``, ``inpainting_fill``, ``inpaint_full_res`` and its padding, ``inpainting_mask_invert``). ``n_iter`` batches of ``batch_size`` images
run as one job of ``n_iter × batch_size`` images with seeds ``seed, seed+1, ...``
(what A1111 gives them). Every image is saved and recorded for its maker like
any other, so ``save_images`` changes nothing. The response holds the PNGs as
raw base64 (with their ``parameters`` chunk), the request as understood, and
``info`` as a JSON string.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.generation import a1111, a1111_options
from core.generation.hires import HiresFix
from core.generation.inpaint import Inpaint
from core.generation.queue import Job
from core.generation.service import GenerateParams, GenerationResult, submit_generation

from .base64_images import MAX_IMAGE_BASE64, as_base64, image_bytes
from .basic_auth import require_sdapi_user
from .deps import get_context
from .sdapi_errors import SdapiRoute
from .txt2img import finished, result_of

router = APIRouter(route_class=SdapiRoute)
MAX_IMAGES = 8
SAME = (None, "", "Use same sampler", "Use same checkpoint", "Use same scheduler")  # A1111's "as the first pass"


class _Generation(BaseModel):
    """The fields txt2img and img2img share."""

    model_config = ConfigDict(extra="ignore")

    prompt: str = Field("", max_length=10_000)
    negative_prompt: str = Field("", max_length=10_000)
    seed: int = -1
    sampler_name: str | None = None
    sampler_index: str | None = None  # A1111's older name for sampler_name
    scheduler: str = "automatic"
    batch_size: int = Field(1, ge=1, le=MAX_IMAGES)
    n_iter: int = Field(1, ge=1, le=MAX_IMAGES)
    steps: int = 20
    cfg_scale: float = 7.0
    width: int | None = None  # None: the checkpoint's native size (img2img: the init picture's)
    height: int | None = None
    denoising_strength: float | None = None
    restore_faces: bool = False
    tiling: bool = False
    override_settings: dict[str, Any] = Field(default_factory=dict)
    script_name: str | None = None
    alwayson_scripts: dict[str, Any] = Field(default_factory=dict)
    send_images: bool = True
    save_images: bool = False

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_defaults(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    @property
    def sampler(self) -> str:
        return self.sampler_name or self.sampler_index or "Euler a"


class Txt2ImgRequest(_Generation):
    enable_hr: bool = False
    hr_scale: float = 2.0
    hr_upscaler: str = "Latent"
    hr_second_pass_steps: int = 0
    hr_resize_x: int = 0
    hr_resize_y: int = 0
    hr_prompt: str = Field("", max_length=10_000)
    hr_negative_prompt: str = Field("", max_length=10_000)
    hr_checkpoint_name: str | None = None
    hr_sampler_name: str | None = None
    hr_scheduler: str | None = None

    def hires(self) -> HiresFix | None:
        if not self.enable_hr:
            return None
        return HiresFix(scale=self.hr_scale, resize_x=self.hr_resize_x, resize_y=self.hr_resize_y,
                        upscaler=self.hr_upscaler or "Latent", steps=self.hr_second_pass_steps,
                        denoising_strength=0.7 if self.denoising_strength is None else self.denoising_strength,
                        prompt=self.hr_prompt, negative_prompt=self.hr_negative_prompt)


class Img2ImgRequest(_Generation):
    init_images: list[str] = Field(default_factory=list, max_length=MAX_IMAGES)
    resize_mode: int = 0
    mask: str | None = Field(None, max_length=MAX_IMAGE_BASE64)
    mask_blur: int = 4
    inpainting_fill: int = 0
    inpaint_full_res: bool = True
    inpaint_full_res_padding: int = 0
    inpainting_mask_invert: int = 0
    include_init_images: bool = False

    def inpaint(self) -> Inpaint | None:
        if not self.mask:
            return None
        return Inpaint(image_bytes(self.mask, "mask"), mask_blur=self.mask_blur, masked_content=self.inpainting_fill,
                       only_masked=self.inpaint_full_res, only_masked_padding=self.inpaint_full_res_padding,
                       invert=bool(self.inpainting_mask_invert))


def _check_supported(body: _Generation) -> None:
    scripts = [name for name in (body.script_name, *body.alwayson_scripts) if name]
    if scripts:
        raise InvalidInput(f"script {scripts[0]!r} not found: this server has no scripts (GET /sdapi/v1/scripts)")
    for field in ("restore_faces", "tiling"):
        if getattr(body, field):
            raise InvalidInput(f"{field} is not supported by this server yet: send {field}: false")
    if isinstance(body, Txt2ImgRequest) and body.enable_hr:
        for field in ("hr_checkpoint_name", "hr_sampler_name", "hr_scheduler"):
            if getattr(body, field) not in SAME:
                raise InvalidInput(f"{field}: the hires pass uses the first pass's choice here; leave {field} out")
    if body.batch_size * body.n_iter > MAX_IMAGES:
        raise InvalidInput(f"batch_size × n_iter must be at most {MAX_IMAGES}, got "
                           f"{body.batch_size} × {body.n_iter}")


def _init_image(body: Img2ImgRequest) -> bytes:
    if len(body.init_images) != 1:
        raise InvalidInput(f"init_images: send one image (got {len(body.init_images)})")
    return image_bytes(body.init_images[0], "init_images[0]")


def _params(config, user: UserInfo, body: _Generation) -> GenerateParams:
    """The request's settings over the user's ``options`` (checkpoint, clip skip, VAE); an override this server
    cannot honour is a 400 naming it (``core.generation.a1111_options``)."""
    overrides = a1111_options.check_options(config, user, body.override_settings)
    model = overrides.get(a1111_options.CHECKPOINT) or a1111.chosen_checkpoint(user)
    clip_skip = overrides.get(a1111_options.CLIP_SKIP, a1111_options.chosen_clip_skip(user))
    vae = overrides[a1111_options.VAE] if a1111_options.VAE in overrides else a1111_options.chosen_vae(user)
    if isinstance(body, Img2ImgRequest):
        kind = {"init_image": _init_image(body), "resize_mode": body.resize_mode, "inpaint": body.inpaint(),
                "denoising_strength": 0.75 if body.denoising_strength is None else body.denoising_strength}
    else:
        kind = {"hires": body.hires()}
    return GenerateParams(
        prompt=body.prompt, model_id=model.id if model else None, negative_prompt=body.negative_prompt,
        width=body.width, height=body.height, steps=body.steps, cfg_scale=body.cfg_scale, sampler=body.sampler,
        scheduler=body.scheduler, seed=body.seed, batch_size=body.batch_size * body.n_iter, clip_skip=clip_skip,
        vae_id=vae.id if vae else None, **kind)


def _info(body: _Generation, result: GenerationResult) -> str:
    """A1111's ``Processed.js()``: the run's settings, seeds and infotexts."""
    info = {"prompt": body.prompt, "negative_prompt": body.negative_prompt} | result.info
    count = len(info["all_seeds"])
    return json.dumps({
        "all_prompts": [body.prompt] * count, "all_negative_prompts": [body.negative_prompt] * count,
        "subseed": -1, "all_subseeds": [-1] * count, "subseed_strength": 0, "batch_size": body.batch_size,
        "n_iter": body.n_iter, "scheduler": body.scheduler, "restore_faces": False, "sd_vae_name": None,
        "sd_vae_hash": None, "seed_resize_from_w": -1, "seed_resize_from_h": -1, "extra_generation_params": {},
        "index_of_first_image": 0, "styles": [], "clip_skip": 1,
        "is_using_inpainting_conditioning": False, "job_timestamp": dt.datetime.now().strftime("%Y%m%d%H%M%S"),
    } | info)


def _submit(context, user: UserInfo, body: _Generation) -> Job:
    _check_supported(body)
    return submit_generation(context, user, _params(context.config, user, body))


def _reply(context, body: _Generation, job: Job) -> dict:
    """The finished job as A1111 answers; an interrupted run has the images made so far (none if it never
    started). img2img with ``include_init_images`` adds the init picture after them, as A1111 does."""
    result = result_of(job)
    outputs = context.config.outputs_path
    images = [as_base64((outputs / image.path).read_bytes()) for image in result.images] if body.send_images else []
    if isinstance(body, Img2ImgRequest) and body.include_init_images and body.send_images:
        images.append(as_base64(image_bytes(body.init_images[0])))
    parameters = body.model_dump(exclude={"init_images", "mask"} if isinstance(body, Img2ImgRequest) else None)
    return {"images": images, "parameters": parameters, "info": _info(body, result)}


async def _generate(body: _Generation, request: Request, user: UserInfo) -> dict:
    """Waits in the shared queue on the event loop (no worker thread held, as ``api.txt2img``)."""
    context = get_context(request)
    job = await run_in_threadpool(_submit, context, user, body)
    await finished(job)
    return await run_in_threadpool(_reply, context, body, job)


@router.post("/txt2img")
async def txt2img(body: Txt2ImgRequest, request: Request, user: UserInfo = Depends(require_sdapi_user)) -> dict:
    return await _generate(body, request, user)


@router.post("/img2img")
async def img2img(body: Img2ImgRequest, request: Request, user: UserInfo = Depends(require_sdapi_user)) -> dict:
    return await _generate(body, request, user)
