"""Upscaling a picture as A1111's Extras tab and hires fix do: a built-in resizer or an ESRGAN-family model.

A model runs on tiles of ``TILE`` pixels, each with ``TILE_PAD`` pixels of its neighbours around it that are cut
off again after the network (Real-ESRGAN's ``tile_process``), so memory stays bounded by the tile, not the picture,
and no seam shows. A model whose scale does not reach the target runs again (at most 3 times, as A1111), and the
result is resized to the exact target with Lanczos.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

TILE = 192
TILE_PAD = 12  # a multiple of 4, so tiles of pixel-unshuffling models (scale 2 and 1) stay aligned
MAX_MODEL_PASSES = 3
NONE, LANCZOS, NEAREST = "None", "Lanczos", "Nearest"
BUILT_IN = (NONE, LANCZOS, NEAREST)

Report = Callable[[int, int], None]
Flag = Callable[[], bool]


class UpscaleStopped(Exception):
    """The run was interrupted between two tiles."""


@dataclass(frozen=True)
class UpscaleSize:
    """Where the picture goes: to ``width`` × ``height``, cropping to keep its proportions when ``crop``."""

    width: int
    height: int
    crop: bool = False


def run_tiled(net, picture, *, tile: int = TILE, pad: int = TILE_PAD, report: Report | None = None,
              should_stop: Flag | None = None):
    """One pass of the network over ``picture`` (RGB), tile by tile; the result is ``net.scale`` times larger.
    Each tile's output goes straight into an 8-bit result, so a pass holds the network's features of one tile,
    not of the picture."""
    import numpy as np
    import torch
    from PIL import Image

    pixels = torch.from_numpy(np.asarray(picture.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    height, width = pixels.shape[-2:]
    align = 4 // net.scale if net.scale < 4 else 1  # RRDBNet x2 / x1 pixel-unshuffle by 2 / 4
    pixels = _pad_to_multiple(pixels, align)
    scale = net.scale
    result = np.zeros((pixels.shape[-2] * scale, pixels.shape[-1] * scale, 3), dtype=np.uint8)
    tiles = [(top, left) for top in range(0, pixels.shape[-2], tile) for left in range(0, pixels.shape[-1], tile)]
    for done, (top, left) in enumerate(tiles, start=1):
        if should_stop and should_stop():
            raise UpscaleStopped()
        bottom, right = min(top + tile, pixels.shape[-2]), min(left + tile, pixels.shape[-1])
        top_in, left_in = max(top - pad, 0), max(left - pad, 0)
        bottom_in, right_in = min(bottom + pad, pixels.shape[-2]), min(right + pad, pixels.shape[-1])
        with torch.inference_mode():
            out = net.module(pixels[..., top_in:bottom_in, left_in:right_in].to(net.device, net.dtype))
        kept = out[0, :, (top - top_in) * scale:(bottom - top_in) * scale,
                   (left - left_in) * scale:(right - left_in) * scale]
        result[top * scale:bottom * scale, left * scale:right * scale] = \
            (kept.float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
        if report:
            report(done, len(tiles))
    return Image.fromarray(result[:height * scale, :width * scale])


def _pad_to_multiple(pixels, multiple: int):
    import torch

    extra_h, extra_w = -pixels.shape[-2] % multiple, -pixels.shape[-1] % multiple
    if not (extra_h or extra_w):
        return pixels
    return torch.nn.functional.pad(pixels, (0, extra_w, 0, extra_h), mode="replicate")


def upscale(picture, size: UpscaleSize, *, method: str = LANCZOS, net=None, report: Report | None = None,
            should_stop: Flag | None = None):
    """``picture`` at ``size`` with ``method`` (a built-in name) or ``net`` (a loaded model), as A1111's
    ``Upscaler.upscale``: the model until the picture is at least as large, then Lanczos to the exact size.
    ``None`` leaves the picture as it is (A1111's Extras: no upscaling)."""
    from PIL import Image

    if method == NONE and net is None:
        return picture
    picture = picture.convert("RGB")
    width, height = _scaled_size(picture.width, picture.height, size)
    if net is not None:
        for _ in range(MAX_MODEL_PASSES):
            if picture.width >= width and picture.height >= height:
                break
            picture = run_tiled(net, picture, report=report, should_stop=should_stop)
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.NEAREST if method == NEAREST else Image.LANCZOS)
    return _cropped(picture, size)


def _scaled_size(width: int, height: int, size: UpscaleSize) -> tuple[int, int]:
    """A1111's crop: scale by the larger ratio so the picture covers the target, then cut the middle out."""
    if not size.crop:
        return size.width, size.height
    ratio = max(size.width / width, size.height / height)
    return max(size.width, round(width * ratio)), max(size.height, round(height * ratio))


def _cropped(picture, size: UpscaleSize):
    if not size.crop or picture.size == (size.width, size.height):
        return picture
    left, top = (picture.width - size.width) // 2, (picture.height - size.height) // 2
    return picture.crop((left, top, left + size.width, top + size.height))


def run_upscale(task, net_of: Callable, *, report: Report | None = None, should_stop: Flag | None = None) -> list:
    """An ``UpscaleTask`` done: ``[(picture, 0)]``; ``net_of(file_ref)`` gives the loaded network of a model."""
    from PIL import Image

    with Image.open(io.BytesIO(task.picture)) as opened:
        picture = opened.convert("RGB")
    passes = [(task.upscaler, task.model)]
    if task.second_visibility > 0 and (task.second_model or task.second_upscaler != NONE):
        passes.append((task.second_upscaler, task.second_model))
    results = [upscale(picture, task.size, method=method, net=net_of(model) if model else None, report=report,
                       should_stop=should_stop) for method, model in passes]
    if len(results) == 2:
        second = results[1] if results[1].size == results[0].size else results[1].resize(results[0].size)
        results = [Image.blend(results[0].convert("RGB"), second.convert("RGB"), task.second_visibility)]
    return [(results[0], 0)]
