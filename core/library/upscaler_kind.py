"""Which upscaler network a weights file holds, from its tensor names and shapes alone.

The ESRGAN family A1111 loads from its ``ESRGAN/`` and ``RealESRGAN/`` folders:

* ``rrdb``: RRDBNet as BasicSR / Real-ESRGAN save it (``conv_first``, ``body.N.rdb1.conv1``, ``conv_up1`` …):
  RealESRGAN_x4plus, x4plus_anime_6B, x2plus (its input pixel-unshuffled: 12 channels in), 1x models (48 in);
* ``esrgan``: the same network in the original ESRGAN layout (``model.0``, ``model.1.sub.N.RDB1.conv1.0`` …),
  4x only: 4x-UltraSharp, Remacri, NMKD and most community upscalers;
* ``compact``: SRVGGNetCompact (``body.0`` conv, ``body.1`` PReLU, …, last conv with 3·scale² channels):
  realesr-general-x4v3, realesr-animevideov3.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RRDB, ESRGAN, COMPACT = "rrdb", "esrgan", "compact"
_RRDB_IN_CHANNELS_SCALE = {3: 4, 12: 2, 48: 1}  # RRDBNet pixel-unshuffles its input for scale 2 and 1

Shapes = Mapping[str, Sequence[int]]


@dataclass(frozen=True)
class UpscalerShape:
    """What it takes to rebuild the network: its layout, scale and widths."""

    arch: str
    scale: int
    features: int
    blocks: int  # RRDB blocks, or the compact net's hidden convolutions
    growth: int = 0  # RRDB's dense growth channels


def upscaler_shape(shapes: Shapes) -> UpscalerShape | None:
    """The network in ``shapes``, or None when it is not one of the three above."""
    if "conv_first.weight" in shapes and "body.0.rdb1.conv1.weight" in shapes:
        return _rrdb(shapes)
    if "model.0.weight" in shapes and "model.1.sub.0.RDB1.conv1.0.weight" in shapes:
        return _esrgan(shapes)
    if len(shapes.get("body.0.weight", ())) == 4 and len(shapes.get("body.1.weight", ())) == 1:
        return _compact(shapes)
    return None


def _count(shapes: Shapes, pattern: str) -> int:
    found = {int(m.group(1)) for key in shapes if (m := re.fullmatch(pattern, key))}
    return max(found) + 1 if found else 0


def _rrdb(shapes: Shapes) -> UpscalerShape | None:
    scale = _RRDB_IN_CHANNELS_SCALE.get(shapes["conv_first.weight"][1])
    if scale is None or "conv_up2.weight" not in shapes:
        return None
    return UpscalerShape(RRDB, scale, shapes["conv_first.weight"][0], _count(shapes, r"body\.(\d+)\.rdb1\.conv1\.weight"),
                         shapes["body.0.rdb1.conv1.weight"][0])


def _esrgan(shapes: Shapes) -> UpscalerShape | None:
    if shapes["model.0.weight"][1] != 3 or "model.6.weight" not in shapes or "model.10.weight" not in shapes:
        return None  # only the 4x layout (two upsampling convolutions, model.3 and model.6)
    return UpscalerShape(ESRGAN, 4, shapes["model.0.weight"][0],
                         _count(shapes, r"model\.1\.sub\.(\d+)\.RDB1\.conv1\.0\.weight"),
                         shapes["model.1.sub.0.RDB1.conv1.0.weight"][0])


def _compact(shapes: Shapes) -> UpscalerShape | None:
    last = _count(shapes, r"body\.(\d+)\.weight") - 1
    if last < 2 or last % 2:
        return None
    scale = math.isqrt(shapes[f"body.{last}.weight"][0] // 3)
    if scale < 1 or 3 * scale * scale != shapes[f"body.{last}.weight"][0]:
        return None
    return UpscalerShape(COMPACT, scale, shapes["body.0.weight"][0], (last - 2) // 2)
