"""``/sdapi/v1``: AUTOMATIC1111's API shapes over the same library, accounts and queue as the rest.

Existing A1111 clients and scripts drive an instance unchanged. They may
authenticate with HTTP Basic (a user's username and password, as A1111's
``--api-auth``), the session cookie or a Bearer token. Listings and
``png-info`` are open to visitors (unless the instance is private);
generating, ``options`` changes, ``interrupt`` and ``skip`` need a user.
``progress``, ``interrupt`` and ``skip`` act on the caller's own jobs; with
``?job=<id>`` (the ``state.job`` that ``progress`` reports) on one job, which
only its owner or an admin may stop.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from core.accounts.accounts import UserInfo
from core.errors import NotFound
from core.generation import a1111, a1111_options, extras
from core.generation.hires import LATENT_UPSCALE_MODES
from core.generation.pnginfo import parse_parameters
from core.generation.queue import Job
from core.generation.resources import checkpoint_choices, models_of_type, primary_file, title_of
from core.generation.samplers import sdapi_samplers, sdapi_schedulers
from core.generation.upscaling import BUILT_IN, NONE
from core.library.model_records import ModelRecord
from core.library.upscaler_kind import COMPACT, RRDB

from . import admin, sdapi_extras, sdapi_generation
from .base64_images import MAX_IMAGE_BASE64, image_bytes
from .basic_auth import require_sdapi_user, sdapi_user
from .deps import get_context
from .sdapi_errors import SdapiRoute

router = APIRouter(prefix="/sdapi/v1", tags=["A1111-compatible API"], route_class=SdapiRoute,
                   dependencies=[Depends(sdapi_user)])
router.include_router(sdapi_generation.router)
router.include_router(sdapi_extras.router)


# --------------------------------------------------------------------------- models
# A1111 answers absolute paths; here a file is named relative to models_dir and a folder by its name alone, so
# no server path reaches a client (visitors included).
def _path(model: ModelRecord) -> str:
    return Path(primary_file(model).stored_path).as_posix()


@router.get("/sd-models")
def sd_models(user: UserInfo | None = Depends(sdapi_user)) -> list[dict]:
    return [{"title": title_of(m), "model_name": m.name, "hash": primary_file(m).autov2,
             "sha256": primary_file(m).sha256, "filename": _path(m), "config": None}
            for m in checkpoint_choices(user)]


@router.get("/loras")
def loras(user: UserInfo | None = Depends(sdapi_user)) -> list[dict]:
    return [{"name": m.name, "alias": Path(primary_file(m).original_name).stem, "path": _path(m),
             "metadata": primary_file(m).metadata} for m in models_of_type(user, "lora")]


@router.get("/sd-vae")
def sd_vae(user: UserInfo | None = Depends(sdapi_user)) -> list[dict]:
    return [{"model_name": m.name, "filename": _path(m)} for m in models_of_type(user, "vae")]


@router.get("/embeddings")
def embeddings(request: Request, user: UserInfo | None = Depends(sdapi_user)) -> dict:
    return a1111.embedding_listing(user, get_context(request).config.models_path)


@router.post("/refresh-checkpoints")
@router.post("/refresh-loras")
@router.post("/refresh-vae")
def refresh(request: Request, user: UserInfo | None = Depends(sdapi_user)) -> None:
    """Listings are always current; an admin's refresh also rescans models_dir (as the admin Rescan)."""
    if user is not None and user.is_admin:
        admin.rescan(request, user)


# --------------------------------------------------------------------------- settings
@router.get("/options")
def get_options(request: Request, user: UserInfo | None = Depends(sdapi_user)) -> dict:
    return a1111_options.options_of(get_context(request).config, user)


@router.post("/options")
def set_options(body: dict[str, Any], request: Request, user: UserInfo = Depends(require_sdapi_user)) -> None:
    """Checkpoint, clip skip and VAE are kept for this user; another option is accepted only at the value this
    server works with, and an unknown one is a 400 (``core.generation.a1111_options``)."""
    context = get_context(request)
    a1111_options.set_options(context.store, context.config, user, body)


@router.get("/cmd-flags")
def cmd_flags(request: Request) -> dict:
    config = get_context(request).config
    folder = config.models_path.name
    return {"api": True, "nowebui": False, "listen": config.host not in ("127.0.0.1", "localhost", "::1"),
            "port": config.port, "share": config.share, "ckpt_dir": folder, "lora_dir": folder, "vae_dir": folder,
            "embeddings_dir": folder}


@router.get("/samplers")
def samplers() -> list[dict]:
    return sdapi_samplers()


@router.get("/schedulers")
def schedulers() -> list[dict]:
    return sdapi_schedulers()


@router.get("/upscalers")
def upscalers(request: Request, user: UserInfo | None = Depends(sdapi_user)) -> list[dict]:
    """A1111's upscaler list: "None", the built-in pixel resizers (hires fix also takes the latent modes), then
    the library's upscaler models the caller may use."""
    built_in = [{"name": name, "model_name": None, "model_path": None, "model_url": None,
                 "scale": 4 if name != NONE else 1} for name in BUILT_IN]
    return built_in + [{"name": entry.name, "model_name": entry.name, "model_path": Path(entry.stored_path).as_posix(),
                        "model_url": None, "scale": entry.scale} for entry in _upscaler_entries(request, user)]


def _upscaler_entries(request: Request, user: UserInfo | None) -> list:
    return extras.upscaler_listing(user, get_context(request).config.models_path)


@router.get("/realesrgan-models")
def realesrgan_models(request: Request, user: UserInfo | None = Depends(sdapi_user)) -> list[dict]:
    """The library upscalers in Real-ESRGAN's own layouts (RRDBNet as BasicSR saves it, and the compact net)."""
    return [{"name": entry.name, "path": Path(entry.stored_path).as_posix(), "scale": entry.scale}
            for entry in _upscaler_entries(request, user) if entry.arch in (RRDB, COMPACT)]


@router.get("/face-restorers")
@router.get("/hypernetworks")
@router.get("/prompt-styles")
def not_on_this_server() -> list[dict]:
    """This server has no face restorers, hypernetworks or saved prompt styles: A1111's lists, empty."""
    return []


@router.get("/latent-upscale-modes")
def latent_upscale_modes() -> list[dict]:
    return [{"name": name} for name in LATENT_UPSCALE_MODES]


@router.get("/scripts")
def scripts() -> dict:
    return {"txt2img": [], "img2img": []}


# --------------------------------------------------------------------------- png-info
class PngInfoRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image: str | None = Field("", max_length=MAX_IMAGE_BASE64)


@router.post("/png-info")
def png_info(body: PngInfoRequest) -> dict:
    text = (body.image or "").strip()
    info, items = a1111.image_info(image_bytes(text)) if text else ("", {})
    return {"info": info, "items": {"parameters": info, **items}, "parameters": parse_parameters(info)}


# --------------------------------------------------------------------------- jobs
def _timestamp(job: Job) -> str:
    """A1111's ``job_timestamp`` (local time the job started, or was queued)."""
    since = time.monotonic() - (job.started_at or job.queued_at)
    return dt.datetime.fromtimestamp(time.time() - since).strftime("%Y%m%d%H%M%S")


def _state(jobs: list[Job]) -> dict:
    job = jobs[0] if jobs else None
    return {"skipped": bool(job and job.skipped), "interrupted": bool(job and job.interrupted),
            "job": job.id if job else "", "job_count": len(jobs), "job_timestamp": _timestamp(job) if job else "0",
            "job_no": 0, "sampling_step": job.step if job else 0, "sampling_steps": job.total if job else 0}


def _textinfo(job: Job | None) -> str | None:
    if job is None:
        return None
    if job.position:
        return f"Waiting in the queue: position {job.position}"
    return f"Step {job.step} of {job.total}" if job.total else "Loading the checkpoint"


@router.get("/progress")
def progress(request: Request, user: UserInfo | None = Depends(sdapi_user)) -> dict:
    """The caller's running job, else their first waiting one; ``queue_position`` is 0 unless it waits."""
    jobs = get_context(request).queue.jobs_of(user.id) if user is not None else []
    job = jobs[0] if jobs else None
    return {"progress": job.progress if job else 0.0, "eta_relative": (job.eta_seconds() if job else None) or 0.0,
            "state": _state(jobs), "current_image": None, "textinfo": _textinfo(job),
            "queue_position": job.position if job else 0}


@router.post("/interrupt")
def interrupt(request: Request, job: str | None = None, user: UserInfo = Depends(require_sdapi_user)) -> dict:
    a1111.interrupt(get_context(request), user, job)
    return {}


@router.post("/skip")
def skip(request: Request, job: str | None = None, user: UserInfo = Depends(require_sdapi_user)) -> None:
    a1111.skip(get_context(request).queue, user, job)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def not_supported(rest: str):
    raise NotFound(f"/sdapi/v1/{rest} is not supported by this server")
