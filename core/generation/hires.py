"""A1111's hires fix: txt2img at the requested size, upscaled, then an img2img pass at the larger size.

The upscalers built in are A1111's ``Latent`` (the latents interpolated, bilinear, before the second pass —
so the first pass is never decoded), ``Lanczos`` and ``Nearest`` (the decoded picture resized with Pillow); a
library upscaler (ESRGAN family) upscales the decoded picture as the Extras tab does.
The target size is ``hr_resize_x`` × ``hr_resize_y`` when given (one of them 0: kept in proportion),
else the first pass's size × ``hr_scale``; both rounded down to multiples of 8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LATENT_UPSCALE_MODES = ("Latent", "Latent (antialiased)", "Latent (bicubic)", "Latent (bicubic antialiased)",
                        "Latent (nearest)", "Latent (nearest-exact)")
PIXEL_UPSCALERS = ("Lanczos", "Nearest")
BUILT_IN_UPSCALERS = (*LATENT_UPSCALE_MODES, *PIXEL_UPSCALERS)
MAX_SIDE = 2048


@dataclass(frozen=True)
class HiresFix:
    """The second pass of a txt2img run; ``steps`` 0 means as many as the first pass, an empty prompt the same
    prompt."""

    scale: float = 2.0
    resize_x: int = 0
    resize_y: int = 0
    upscaler: str = "Latent"
    steps: int = 0
    denoising_strength: float = 0.7
    prompt: str = ""
    negative_prompt: str = ""

    @property
    def is_latent(self) -> bool:
        return self.upscaler in LATENT_UPSCALE_MODES

    def target_size(self, width: int, height: int) -> tuple[int, int]:
        if self.resize_x or self.resize_y:
            x = self.resize_x or round(self.resize_y * width / height)
            y = self.resize_y or round(self.resize_x * height / width)
        else:
            x, y = round(width * self.scale), round(height * self.scale)
        return x // 8 * 8, y // 8 * 8

    def infotext_fields(self, width: int, height: int) -> dict:
        """The keys A1111 writes for a hires run, in its order."""
        fields = {"Denoising strength": _number(self.denoising_strength)}
        if self.resize_x or self.resize_y:
            fields["Hires resize"] = "{}x{}".format(*self.target_size(width, height))
        else:
            fields["Hires upscale"] = _number(self.scale)
        if self.steps:
            fields["Hires steps"] = self.steps
        fields["Hires upscaler"] = self.upscaler
        if self.prompt:
            fields["Hires prompt"] = self.prompt
        if self.negative_prompt:
            fields["Hires negative prompt"] = self.negative_prompt
        return fields


def _number(value: float) -> str:
    return f"{value:g}"


def check_hires(hires: HiresFix, width: int, height: int, upscaler_models: tuple[str, ...] = ()) -> None:
    """``ValueError`` naming the first setting that cannot be honoured (an unknown upscaler, a size past 2048);
    ``upscaler_models`` are the library upscalers' names the run may use besides the built-in ones."""
    if hires.upscaler not in BUILT_IN_UPSCALERS and hires.upscaler not in upscaler_models:
        choices = ", ".join((*BUILT_IN_UPSCALERS, *upscaler_models))
        raise ValueError(f"unknown hires upscaler {hires.upscaler!r}; this server has: {choices}")
    if not (isinstance(hires.scale, (int, float)) and math.isfinite(hires.scale) and 1 <= hires.scale <= 4):
        raise ValueError(f"hr_scale must be between 1 and 4, got {hires.scale!r}")
    if not 0 <= hires.denoising_strength <= 1:
        raise ValueError(f"denoising_strength must be between 0 and 1, got {hires.denoising_strength!r}")
    if not 0 <= hires.steps <= 150:
        raise ValueError(f"hr_second_pass_steps must be between 0 and 150, got {hires.steps!r}")
    x, y = hires.target_size(width, height)
    if not (64 <= x <= MAX_SIDE and 64 <= y <= MAX_SIDE):
        raise ValueError(f"the hires size {x}x{y} is past this server's limit: each side between 64 and {MAX_SIDE}")


def upscale_latents(latents, hires: HiresFix, width: int, height: int):
    """A1111's latent upscale modes: ``torch.nn.functional.interpolate`` to the target size over the VAE's scale
    (8 for Stable Diffusion)."""
    import torch

    x, y = hires.target_size(width, height)
    factor = height // latents.shape[-2]
    mode = hires.upscaler
    method = "bicubic" if "bicubic" in mode else "nearest-exact" if "nearest-exact" in mode else \
        "nearest" if "nearest" in mode else "bilinear"
    antialias = "antialiased" in mode
    return torch.nn.functional.interpolate(latents, size=(y // factor, x // factor), mode=method, antialias=antialias)


def upscale_picture(image, hires: HiresFix, net=None):
    """The decoded first pass at the target size: Pillow's Lanczos or Nearest, or ``net`` (a library upscaler,
    ``core.generation.upscaler_nets``) run tile by tile and brought to the exact size."""
    from PIL import Image

    from core.generation.upscaling import UpscaleSize, upscale

    x, y = hires.target_size(image.width, image.height)
    if net is not None:
        return upscale(image, UpscaleSize(x, y), net=net)
    return image.resize((x, y), Image.NEAREST if hires.upscaler == "Nearest" else Image.LANCZOS)
