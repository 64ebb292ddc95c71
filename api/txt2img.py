"""``POST /api/v1/txt2img`` and ``/api/v1/img2img``: generate with A1111's parameter names; waits in the shared
queue. img2img starts from ``init_image`` (base64 or a data: URL) or ``init_image_id`` (a picture of this site the
caller may see).

A request waits for its job on the event loop (``finished``), not on a worker
thread: the thread pool every synchronous route and the login check share has
40 threads, and requests waiting in the queue must not take them all.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from community import gallery
from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.generation.hires import HiresFix
from core.generation.inpaint import Inpaint
from core.generation.queue import Job, JobCancelled
from core.generation.service import GenerateParams, GenerationResult, submit_generation

from .base64_images import MAX_IMAGE_BASE64, image_bytes
from .deps import get_context, require_user
from .shapes import DB_INT

router = APIRouter(prefix="/api/v1", tags=["generation"])


class _GenerateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(max_length=10_000)
    model_id: int | None = Field(None, **DB_INT)
    model_hash: str | None = Field(None, max_length=64)
    negative_prompt: str | None = Field("", max_length=10_000)
    width: int | None = None
    height: int | None = None
    steps: int | None = 20
    cfg_scale: float | None = 7.0
    sampler_name: str | None = "Euler a"
    scheduler: str | None = "automatic"
    seed: int | None = -1
    batch_size: int | None = 1
    vae_id: int | None = Field(None, **DB_INT)
    denoising_strength: float | None = None
    clip_skip: int | None = 1


class Txt2ImgBody(_GenerateBody):
    enable_hr: bool = False
    hr_scale: float | None = 2.0
    hr_upscaler: str | None = "Latent"
    hr_second_pass_steps: int | None = 0
    hr_resize_x: int | None = 0
    hr_resize_y: int | None = 0
    hr_prompt: str | None = Field("", max_length=10_000)
    hr_negative_prompt: str | None = Field("", max_length=10_000)

    def hires(self) -> HiresFix | None:
        if not self.enable_hr:
            return None
        return HiresFix(scale=2.0 if self.hr_scale is None else self.hr_scale, resize_x=self.hr_resize_x or 0,
                        resize_y=self.hr_resize_y or 0, upscaler=self.hr_upscaler or "Latent",
                        steps=self.hr_second_pass_steps or 0,
                        denoising_strength=0.7 if self.denoising_strength is None else self.denoising_strength,
                        prompt=self.hr_prompt or "", negative_prompt=self.hr_negative_prompt or "")


class Img2ImgBody(_GenerateBody):
    init_image: str | None = Field(None, max_length=MAX_IMAGE_BASE64)
    init_image_id: int | None = Field(None, **DB_INT)
    resize_mode: int | None = 0
    mask: str | None = Field(None, max_length=MAX_IMAGE_BASE64)  # white: repaint (A1111's inpainting fields)
    mask_blur: int | None = 4
    inpainting_fill: int | None = 1
    inpaint_full_res: bool | None = False
    inpaint_full_res_padding: int | None = 32
    inpainting_mask_invert: bool | None = False

    def inpaint(self) -> Inpaint | None:
        if not self.mask:
            return None
        return Inpaint(image_bytes(self.mask, "mask"), mask_blur=_or(self.mask_blur, 4),
                       masked_content=_or(self.inpainting_fill, 1), only_masked=bool(self.inpaint_full_res),
                       only_masked_padding=_or(self.inpaint_full_res_padding, 32),
                       invert=bool(self.inpainting_mask_invert))


def _or(value, default):
    return default if value is None else value


def params_from(body: _GenerateBody, **kind) -> GenerateParams:
    return GenerateParams(
        prompt=body.prompt, model_id=body.model_id, model_hash=body.model_hash,
        negative_prompt=body.negative_prompt or "", width=body.width, height=body.height,
        steps=20 if body.steps is None else body.steps, cfg_scale=7.0 if body.cfg_scale is None else body.cfg_scale,
        sampler=body.sampler_name or "Euler a", scheduler=body.scheduler or "automatic",
        seed=-1 if body.seed is None else body.seed, batch_size=body.batch_size or 1, vae_id=body.vae_id,
        clip_skip=body.clip_skip or 1, **kind)


def img2img_params(context, user: UserInfo, body: Img2ImgBody) -> GenerateParams:
    if (body.init_image is None) == (body.init_image_id is None):
        raise InvalidInput("send the picture to start from: init_image (base64) or init_image_id, one of them")
    init = image_bytes(body.init_image, "init_image") if body.init_image is not None else \
        gallery.image_bytes(context.config.outputs_path, user, body.init_image_id)
    return params_from(body, init_image=init, resize_mode=body.resize_mode or 0, inpaint=body.inpaint(),
                       denoising_strength=0.75 if body.denoising_strength is None else body.denoising_strength)


async def finished(job: Job) -> None:
    """Wait until ``job`` has finished, without holding a thread."""
    loop, done = asyncio.get_running_loop(), asyncio.Event()
    job.when_finished(lambda: loop.call_soon_threadsafe(done.set))
    await done.wait()


def result_of(job: Job) -> GenerationResult:
    """A finished job's result (or its exception); one cancelled before it started made no image."""
    try:
        return job.wait()
    except JobCancelled:
        return GenerationResult((), "")


def _submit_txt2img(context, user: UserInfo, body: Txt2ImgBody) -> Job:
    return submit_generation(context, user, params_from(body, hires=body.hires()))


def _submit_img2img(context, user: UserInfo, body: Img2ImgBody) -> Job:
    return submit_generation(context, user, img2img_params(context, user, body))


@router.post("/txt2img")
async def txt2img(body: Txt2ImgBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    job = await run_in_threadpool(_submit_txt2img, get_context(request), user, body)
    return await _answer(job, request)


@router.post("/img2img")
async def img2img(body: Img2ImgBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    job = await run_in_threadpool(_submit_img2img, get_context(request), user, body)
    return await _answer(job, request)


async def _answer(job: Job, request: Request) -> dict:
    await finished(job)
    result = result_of(job)
    base = str(request.base_url).rstrip("/")
    return {"images": [{"id": image.id, "url": f"{base}/media/{image.path}", "seed": image.seed,
                        "width": image.width, "height": image.height} for image in result.images],
            "info": result.info}
