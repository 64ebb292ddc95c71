"""The ESRGAN family's networks, rebuilt from a safetensors file (``core.library.upscaler_kind`` reads the layout).

RRDBNet and SRVGGNetCompact as BasicSR / Real-ESRGAN define them (BSD-3-Clause), which is what A1111 runs for its
``ESRGAN/`` and ``RealESRGAN/`` folders. spandrel, the usual loader for these, imports torchvision for two of its
other architectures, and this project installs no torchvision; the three layouts here are the ones A1111 ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from core.library.upscaler_kind import COMPACT, ESRGAN, UpscalerShape, upscaler_shape


class UpscalerDoesNotLoad(ValueError):
    """The file is not an upscaler this server can run."""


class ResidualDenseBlock(nn.Module):
    def __init__(self, features: int, growth: int):
        super().__init__()
        for n in range(1, 5):
            setattr(self, f"conv{n}", nn.Conv2d(features + (n - 1) * growth, growth, 3, 1, 1))
        self.conv5 = nn.Conv2d(features + 4 * growth, features, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        outputs = [x]
        for n in range(1, 5):
            outputs.append(self.lrelu(getattr(self, f"conv{n}")(torch.cat(outputs, 1))))
        return self.conv5(torch.cat(outputs, 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, features: int, growth: int):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(features, growth)
        self.rdb2 = ResidualDenseBlock(features, growth)
        self.rdb3 = ResidualDenseBlock(features, growth)

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator; scales 2 and 1 pixel-unshuffle the input first (Real-ESRGAN x2plus, 1x models)."""

    def __init__(self, shape: UpscalerShape):
        super().__init__()
        self.scale = shape.scale
        unshuffle = {4: 1, 2: 2, 1: 4}[shape.scale]
        self.unshuffle = unshuffle
        self.conv_first = nn.Conv2d(3 * unshuffle * unshuffle, shape.features, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(shape.features, shape.growth) for _ in range(shape.blocks)))
        self.conv_body = nn.Conv2d(shape.features, shape.features, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(shape.features, shape.features, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(shape.features, shape.features, 3, 1, 1)
        self.conv_hr = nn.Conv2d(shape.features, shape.features, 3, 1, 1)
        self.conv_last = nn.Conv2d(shape.features, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x):
        feat = F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact network: plain convolutions and PReLUs, a pixel shuffle, plus the nearest upscale."""

    def __init__(self, shape: UpscalerShape):
        super().__init__()
        self.scale = shape.scale
        layers: list[nn.Module] = [nn.Conv2d(3, shape.features, 3, 1, 1), nn.PReLU(num_parameters=shape.features)]
        for _ in range(shape.blocks):
            layers += [nn.Conv2d(shape.features, shape.features, 3, 1, 1), nn.PReLU(num_parameters=shape.features)]
        layers.append(nn.Conv2d(shape.features, 3 * shape.scale * shape.scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(shape.scale)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


@dataclass(frozen=True)
class UpscalerNet:
    module: nn.Module
    scale: int
    arch: str
    device: torch.device
    dtype: torch.dtype


def load_upscaler(path: str | Path, device: str | torch.device = "cpu") -> UpscalerNet:
    """The network in ``path`` (safetensors), in eval mode on ``device`` (fp16 on CUDA)."""
    from safetensors.torch import load_file

    try:
        weights = load_file(str(path))
    except Exception as exc:  # a damaged file: safetensors' own message says what
        raise UpscalerDoesNotLoad(f"{Path(path).name}: not a readable safetensors file ({exc})") from exc
    shape = upscaler_shape({key: tuple(value.shape) for key, value in weights.items()})
    if shape is None:
        raise UpscalerDoesNotLoad(f"{Path(path).name}: not an ESRGAN, Real-ESRGAN (RRDBNet) or compact upscaler")
    if shape.arch == ESRGAN:
        weights = esrgan_to_rrdb(weights, shape.blocks)
    module = SRVGGNetCompact(shape) if shape.arch == COMPACT else RRDBNet(shape)
    try:
        module.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise UpscalerDoesNotLoad(f"{Path(path).name}: the weights do not fit the {shape.arch} network ({exc})") from exc
    device = torch.device(device)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    return UpscalerNet(module.to(device=device, dtype=dtype).eval(), shape.scale, shape.arch, device, dtype)


_ESRGAN_TOP = {"model.0": "conv_first", "model.3": "conv_up1", "model.6": "conv_up2", "model.8": "conv_hr",
               "model.10": "conv_last"}


def esrgan_to_rrdb(weights: dict, blocks: int) -> dict:
    """The original ESRGAN layout's names as RRDBNet's (``model.1.sub.3.RDB2.conv4.0`` -> ``body.3.rdb2.conv4``)."""
    renamed = {}
    for key, value in weights.items():
        module, _, param = key.rpartition(".")
        if module in _ESRGAN_TOP:
            renamed[f"{_ESRGAN_TOP[module]}.{param}"] = value
        elif module == f"model.1.sub.{blocks}":
            renamed[f"conv_body.{param}"] = value
        else:
            parts = module.split(".")  # model 1 sub N RDBj convk 0
            renamed[f"body.{parts[3]}.{parts[4].lower()}.{parts[5]}.{param}"] = value
    return renamed
