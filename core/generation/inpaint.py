"""Inpainting as A1111 does it, on diffusers' inpainting pipelines built over the loaded checkpoint's modules.

The mask (white: repaint) is fitted to the picture's size like the picture itself, inverted if asked, and
blurred by ``mask_blur`` pixels. "Masked content" sets what the masked area starts from:

0. fill — the colours around it spread into it (A1111's ``masking.fill``);
1. original — the picture as it is;
2. latent noise — seeded noise; 3. latent nothing — flat grey. Both are made in pixel space before the VAE
   encodes the picture, which gives the same kind of start as A1111's latent-space versions.

"Only masked" (``inpaint_full_res``) repaints the masked area's bounding box, widened by the padding to the
output's aspect ratio and scaled up to the output size, then pasted back (diffusers' ``padding_mask_crop``).
Either way the result is laid over the original through the blurred mask, so outside the mask every pixel is the
original's. A 4-channel UNet keeps the unmasked latents at each step; a 9-channel inpainting UNet is given the
mask and the masked picture, as it was trained.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from core.generation.img2img import derived_pipeline, fit_picture

MASKED_CONTENT = ("fill", "original", "latent noise", "latent nothing")
INPAINT_CLASSES = {"StableDiffusionPipeline": "StableDiffusionInpaintPipeline",
                   "StableDiffusionXLPipeline": "StableDiffusionXLInpaintPipeline"}


@dataclass(frozen=True)
class Inpaint:
    """The mask (PNG bytes) and A1111's inpainting settings."""

    mask: bytes
    mask_blur: int = 4
    masked_content: int = 1
    only_masked: bool = False
    only_masked_padding: int = 32
    invert: bool = False

    def infotext_fields(self) -> dict:
        fields = {"Mask blur": self.mask_blur}
        if self.only_masked:
            fields["Inpaint area"] = "Only masked"
            fields["Masked area padding"] = self.only_masked_padding
        return fields


def check_inpaint(inpaint: Inpaint) -> None:
    for name, value, high in (("mask_blur", inpaint.mask_blur, 64), ("inpaint_full_res_padding",
                                                                       inpaint.only_masked_padding, 256)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise ValueError(f"{name} must be a whole number from 0 to {high}, got {value!r}")
    if inpaint.masked_content not in range(len(MASKED_CONTENT)):
        choices = ", ".join(f"{i} ({name})" for i, name in enumerate(MASKED_CONTENT))
        raise ValueError(f"inpainting_fill must be one of {choices}, got {inpaint.masked_content!r}")


def mask_png(picture) -> bytes:
    """A mask picture as greyscale PNG bytes (an alpha channel, as editors draw it, counts as the mask)."""
    out = io.BytesIO()
    if picture.mode in ("RGBA", "LA") and picture.getextrema()[-1] != (255, 255):
        picture = picture.getchannel("A")
    picture.convert("L").save(out, format="PNG")
    return out.getvalue()


def prepared_mask(inpaint: Inpaint, size: tuple[int, int], resize_mode: int):
    """The mask at ``size`` (fitted as the init picture is), inverted if asked, blurred."""
    from PIL import Image, ImageFilter, ImageOps

    with Image.open(io.BytesIO(inpaint.mask)) as opened:
        mask = fit_picture(opened.convert("RGB"), *size, resize_mode).convert("L")
    if inpaint.invert:
        mask = ImageOps.invert(mask)
    return mask.filter(ImageFilter.GaussianBlur(inpaint.mask_blur)) if inpaint.mask_blur else mask


def starting_picture(picture, mask, masked_content: int, seed: int):
    """What the masked area starts from (see the module's list)."""
    import numpy as np
    from PIL import Image

    if masked_content == 1:
        return picture
    if masked_content == 0:
        return _fill(picture, mask)
    if masked_content == 2:
        noise = np.random.default_rng(seed).integers(0, 256, (picture.height, picture.width, 3), dtype=np.uint8)
        start = Image.fromarray(noise)
    else:
        start = Image.new("RGB", picture.size, (128, 128, 128))
    return Image.composite(start, picture, mask)


def _fill(picture, mask):
    """A1111's ``masking.fill``: the unmasked colours blurred into the hole, coarse to fine."""
    from PIL import Image, ImageFilter, ImageOps

    filled = Image.new("RGBA", picture.size)
    outside = Image.new("RGBa", picture.size)
    outside.paste(picture.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask))
    for radius, repeats in ((256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)):
        blurred = outside.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
        for _ in range(repeats):
            filled.alpha_composite(blurred)
    return filled.convert("RGB")


def inpaint_pipeline(run):
    """The inpainting pipeline of the same family over ``run``'s modules and scheduler (nothing loaded)."""
    return derived_pipeline(run, INPAINT_CLASSES)


def overlay(original, made, mask):
    """The made picture inside the (blurred) mask, the original outside it."""
    from PIL import Image

    return Image.composite(made.convert("RGB"), original.convert("RGB"), mask)
