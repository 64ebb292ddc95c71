"""``POST /sdapi/v1/extra-single-image`` and ``/extra-batch-images``: A1111's Extras over the shared upscale
service (``core.generation.extras``). A1111's request shapes: ``resize_mode`` 0 scales by ``upscaling_resize``,
1 scales to ``upscaling_resize_w`` × ``upscaling_resize_h`` (``upscaling_crop`` keeps the proportions);
``upscaler_1``, ``upscaler_2`` and ``extras_upscaler_2_visibility``. Face restoration is a 400 naming the field
(this server has no face restorer), never quietly skipped."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from core.accounts.accounts import UserInfo
from core.errors import InvalidInput
from core.generation.extras import ExtrasParams, ExtrasResult, submit_extras
from core.generation.upscaling import NONE

from .base64_images import MAX_IMAGE_BASE64, as_base64, image_bytes
from .basic_auth import require_sdapi_user
from .deps import get_context
from .sdapi_errors import SdapiRoute
from .txt2img import finished

router = APIRouter(route_class=SdapiRoute)
MAX_BATCH = 8


class _ExtrasRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    resize_mode: int = Field(0, ge=0, le=1)
    show_extras_results: bool = True
    gfpgan_visibility: float = 0
    codeformer_visibility: float = 0
    codeformer_weight: float = 0
    upscaling_resize: float = 2
    upscaling_resize_w: int = 512
    upscaling_resize_h: int = 512
    upscaling_crop: bool = True
    upscaler_1: str = Field(NONE, max_length=200)
    upscaler_2: str = Field(NONE, max_length=200)
    extras_upscaler_2_visibility: float = 0
    upscale_first: bool = False

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_defaults(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    def params(self, picture: bytes) -> ExtrasParams:
        for field in ("gfpgan_visibility", "codeformer_visibility"):
            if getattr(self, field):
                raise InvalidInput(f"{field}: this server has no face restorer (GET /sdapi/v1/face-restorers); "
                                   f"send {field}: 0")
        by_size = self.resize_mode == 1
        return ExtrasParams(picture, upscaler=self.upscaler_1, scale=self.upscaling_resize,
                            width=self.upscaling_resize_w if by_size else 0,
                            height=self.upscaling_resize_h if by_size else 0, crop=by_size and self.upscaling_crop,
                            upscaler_2=self.upscaler_2, upscaler_2_visibility=self.extras_upscaler_2_visibility)


class ExtrasSingleImageRequest(_ExtrasRequest):
    image: str = Field("", max_length=MAX_IMAGE_BASE64)


class FileData(BaseModel):
    data: str = Field(max_length=MAX_IMAGE_BASE64)
    name: str = ""


class ExtrasBatchImagesRequest(_ExtrasRequest):
    imageList: list[FileData] = Field(max_length=MAX_BATCH)  # noqa: N815 (A1111's name)


def _html_info(result: ExtrasResult) -> str:
    return f"<p>{result.info}</p>"


async def _upscale(context, user: UserInfo, body: _ExtrasRequest, picture: bytes) -> ExtrasResult:
    job = await run_in_threadpool(submit_extras, context, user, body.params(picture))
    await finished(job)
    return job.wait()


@router.post("/extra-single-image")
async def extra_single_image(body: ExtrasSingleImageRequest, request: Request,
                             user: UserInfo = Depends(require_sdapi_user)) -> dict:
    if not body.image:
        raise InvalidInput("image: send the picture to upscale as base64")
    result = await _upscale(get_context(request), user, body, image_bytes(body.image))
    return {"html_info": _html_info(result), "image": as_base64(result.png) if body.show_extras_results else None}


@router.post("/extra-batch-images")
async def extra_batch_images(body: ExtrasBatchImagesRequest, request: Request,
                             user: UserInfo = Depends(require_sdapi_user)) -> dict:
    pictures = [image_bytes(item.data, f"imageList[{n}].data") for n, item in enumerate(body.imageList)]
    results = [await _upscale(get_context(request), user, body, picture) for picture in pictures]
    return {"html_info": _html_info(results[0]) if results else "",
            "images": [as_base64(result.png) for result in results] if body.show_extras_results else []}
