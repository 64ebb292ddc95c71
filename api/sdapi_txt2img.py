"""``POST /sdapi/v1/txt2img`` with A1111's request and response shapes, over the shared txt2img service.

The request is A1111's ``StableDiffusionTxt2ImgProcessingAPI``: unknown fields
are ignored and a null field means its default. ``n_iter`` batches of
``batch_size`` images run as one job of ``n_iter × batch_size`` images with
seeds ``seed, seed+1, ...`` (what A1111 gives them). Every image is saved and
recorded for its maker like any other, so ``save_images`` changes nothing.
The response holds the PNGs as raw base64 (with their ``parameters`` chunk),
the request as understood, and ``info`` as a JSON string.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.generation import a1111
from core.generation.queue import Job
from core.generation.service import GenerateParams, GenerationResult, submit_generation

from .basic_auth import require_sdapi_user
from .deps import get_context
from .sdapi_errors import SdapiRoute
from .txt2img import finished, result_of

router = APIRouter(route_class=SdapiRoute)
MAX_IMAGES = 8


class Txt2ImgRequest(BaseModel):
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
    width: int | None = None  # None: the checkpoint's native size
    height: int | None = None
    enable_hr: bool = False
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


def _check_supported(body: Txt2ImgRequest) -> None:
    if body.enable_hr:
        raise InvalidInput("hires fix (enable_hr) is not supported by this server: generate at the final size")
    scripts = [name for name in (body.script_name, *body.alwayson_scripts) if name]
    if scripts:
        raise InvalidInput(f"script {scripts[0]!r} not found: this server has no scripts (GET /sdapi/v1/scripts)")
    if body.batch_size * body.n_iter > MAX_IMAGES:
        raise InvalidInput(f"batch_size × n_iter must be at most {MAX_IMAGES}, got "
                           f"{body.batch_size} × {body.n_iter}")


def _params(user: UserInfo, body: Txt2ImgRequest) -> GenerateParams:
    override = body.override_settings.get("sd_model_checkpoint")
    if override is not None and not isinstance(override, str):
        raise InvalidInput("override_settings.sd_model_checkpoint must be a checkpoint title, name or hash")
    model = a1111.checkpoint_for(user, override)
    return GenerateParams(
        prompt=body.prompt, model_id=model.id if model else None, negative_prompt=body.negative_prompt,
        width=body.width, height=body.height, steps=body.steps, cfg_scale=body.cfg_scale, sampler=body.sampler,
        scheduler=body.scheduler, seed=body.seed, batch_size=body.batch_size * body.n_iter)


def _info(body: Txt2ImgRequest, result: GenerationResult) -> str:
    """A1111's ``Processed.js()``: the run's settings, seeds and infotexts."""
    info = {"prompt": body.prompt, "negative_prompt": body.negative_prompt} | result.info
    count = len(info["all_seeds"])
    return json.dumps(info | {
        "all_prompts": [body.prompt] * count, "all_negative_prompts": [body.negative_prompt] * count,
        "subseed": -1, "all_subseeds": [-1] * count, "subseed_strength": 0, "batch_size": body.batch_size,
        "n_iter": body.n_iter, "scheduler": body.scheduler, "restore_faces": False, "sd_vae_name": None,
        "sd_vae_hash": None, "seed_resize_from_w": -1, "seed_resize_from_h": -1, "denoising_strength": None,
        "extra_generation_params": {}, "index_of_first_image": 0, "styles": [], "clip_skip": 1,
        "is_using_inpainting_conditioning": False, "job_timestamp": dt.datetime.now().strftime("%Y%m%d%H%M%S"),
    })


def _submit(context, user: UserInfo, body: Txt2ImgRequest) -> Job:
    _check_supported(body)
    return submit_generation(context, user, _params(user, body))


def _reply(context, body: Txt2ImgRequest, job: Job) -> dict:
    """The finished job as A1111 answers; an interrupted run has the images made so far (none if it never
    started)."""
    result = result_of(job)
    outputs = context.config.outputs_path
    images = [base64.b64encode((outputs / image.path).read_bytes()).decode("ascii")
              for image in result.images] if body.send_images else []
    return {"images": images, "parameters": body.model_dump(), "info": _info(body, result)}


@router.post("/txt2img")
async def txt2img(body: Txt2ImgRequest, request: Request, user: UserInfo = Depends(require_sdapi_user)) -> dict:
    """Waits in the shared queue on the event loop (no worker thread held, as ``api.txt2img``)."""
    context = get_context(request)
    job = await run_in_threadpool(_submit, context, user, body)
    await finished(job)
    return await run_in_threadpool(_reply, context, body, job)
