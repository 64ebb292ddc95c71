"""``POST /api/v1/txt2img``: generate with A1111's parameter names; waits in the shared queue.

A request waits for its job on the event loop (``finished``), not on a worker
thread: the thread pool every synchronous route and the login check share has
40 threads, and requests waiting in the queue must not take them all.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from core.accounts.accounts import UserInfo
from core.generation.queue import Job, JobCancelled
from core.generation.service import GenerateParams, GenerationResult, submit_generation

from .deps import get_context, require_user
from .shapes import DB_INT

router = APIRouter(prefix="/api/v1", tags=["generation"])


class Txt2ImgBody(BaseModel):
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


def params_from(body: Txt2ImgBody) -> GenerateParams:
    return GenerateParams(
        prompt=body.prompt, model_id=body.model_id, model_hash=body.model_hash,
        negative_prompt=body.negative_prompt or "", width=body.width, height=body.height,
        steps=20 if body.steps is None else body.steps, cfg_scale=7.0 if body.cfg_scale is None else body.cfg_scale,
        sampler=body.sampler_name or "Euler a", scheduler=body.scheduler or "automatic",
        seed=-1 if body.seed is None else body.seed, batch_size=body.batch_size or 1, vae_id=body.vae_id)


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


@router.post("/txt2img")
async def txt2img(body: Txt2ImgBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    job = await run_in_threadpool(submit_generation, get_context(request), user, params_from(body))
    await finished(job)
    result = result_of(job)
    base = str(request.base_url).rstrip("/")
    return {"images": [{"id": image.id, "url": f"{base}/media/{image.path}", "seed": image.seed,
                        "width": image.width, "height": image.height} for image in result.images],
            "info": result.info}
