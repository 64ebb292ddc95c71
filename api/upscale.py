"""``POST /api/v1/upscale``: the Extras tab over REST. The picture comes as ``image`` (base64 or a data: URL) or
``image_id`` (a picture of this site the caller may see); the upscaled PNG comes back as base64, with the source's
``parameters`` kept. It waits in the shared generation queue (on the event loop, as ``api.txt2img``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from community import gallery
from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.generation.extras import ExtrasParams, submit_extras
from core.generation.upscaling import NONE

from .base64_images import MAX_IMAGE_BASE64, as_base64, image_bytes
from .deps import get_context, require_user
from .shapes import DB_INT
from .txt2img import finished

router = APIRouter(prefix="/api/v1", tags=["generation"])


class UpscaleBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image: str | None = Field(None, max_length=MAX_IMAGE_BASE64)
    image_id: int | None = Field(None, **DB_INT)
    upscaler: str = Field(NONE, max_length=200)
    scale: float = 2.0
    width: int = 0
    height: int = 0
    crop: bool = False
    upscaler_2: str = Field(NONE, max_length=200)
    upscaler_2_visibility: float = 0.0


def _submit(context, user: UserInfo, body: UpscaleBody):
    if (body.image is None) == (body.image_id is None):
        raise InvalidInput("send the picture to upscale: image (base64) or image_id, one of them")
    picture = image_bytes(body.image, "image") if body.image is not None else \
        gallery.image_bytes(context.config.outputs_path, user, body.image_id)
    return submit_extras(context, user, ExtrasParams(
        picture, upscaler=body.upscaler, scale=body.scale, width=body.width, height=body.height, crop=body.crop,
        upscaler_2=body.upscaler_2, upscaler_2_visibility=body.upscaler_2_visibility))


@router.post("/upscale")
async def upscale(body: UpscaleBody, request: Request, user: UserInfo = Depends(require_user)) -> dict:
    job = await run_in_threadpool(_submit, get_context(request), user, body)
    await finished(job)
    result = job.wait()
    return {"image": as_base64(result.png), "width": result.width, "height": result.height, "info": result.info}
