"""img2img on an already-loaded checkpoint: the init picture fitted to the requested size, and diffusers' img2img
pipeline built from the loaded pipeline's own modules (no second load, the same cache entry).

A1111's resize modes (``resize_mode``), fitting the init picture to width × height:

0. just resize — stretched to the size;
1. crop and resize — scaled to cover the size, the overflow cropped around the centre;
2. resize and fill — scaled to fit inside, the empty bands filled by stretching the picture's edge rows or columns.
"""

from __future__ import annotations

import io

RESIZE_MODES = ("Just resize", "Crop and resize", "Resize and fill")
IMG2IMG_CLASSES = {"StableDiffusionPipeline": "StableDiffusionImg2ImgPipeline",
                   "StableDiffusionXLPipeline": "StableDiffusionXLImg2ImgPipeline"}


def check_resize_mode(mode) -> None:
    if isinstance(mode, bool) or mode not in range(len(RESIZE_MODES)):
        choices = ", ".join(f"{i} ({name})" for i, name in enumerate(RESIZE_MODES))
        raise ValueError(f"resize_mode must be one of {choices}, got {mode!r}")


def png_of(image) -> bytes:
    """An RGB picture as PNG bytes: how an init picture travels in a task (plain and picklable)."""
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def picture_of(png: bytes):
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB")


def fit_picture(image, width: int, height: int, mode: int):
    """``image`` fitted to ``width`` × ``height`` as A1111's ``resize_image`` does for ``mode`` (see above)."""
    from PIL import Image, ImageOps

    image = image.convert("RGB")
    if image.size == (width, height):
        return image
    if mode == 0:
        return image.resize((width, height), Image.LANCZOS)
    if mode == 1:
        return ImageOps.fit(image, (width, height), Image.LANCZOS)
    return _resize_and_fill(image, width, height)


def _resize_and_fill(image, width: int, height: int):
    from PIL import Image

    scale = min(width / image.width, height / image.height)
    inner = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    out = Image.new("RGB", (width, height))
    left, top = (width - inner.width) // 2, (height - inner.height) // 2
    out.paste(inner, (left, top))
    if top > 0:  # bands above and below: the first and last rows stretched
        out.paste(inner.crop((0, 0, inner.width, 1)).resize((inner.width, top)), (left, 0))
        bottom = height - top - inner.height
        if bottom > 0:
            out.paste(inner.crop((0, inner.height - 1, inner.width, inner.height)).resize((inner.width, bottom)),
                      (left, top + inner.height))
    if left > 0:  # bands at the sides: the first and last columns stretched
        out.paste(inner.crop((0, 0, 1, inner.height)).resize((left, inner.height)), (0, top))
        right = width - left - inner.width
        if right > 0:
            out.paste(inner.crop((inner.width - 1, 0, inner.width, inner.height)).resize((right, inner.height)),
                      (left + inner.width, top))
    return out


def denoised_steps(steps: int, strength: float) -> int:
    """How many steps img2img runs (diffusers' and A1111's ``int(steps × strength)``); 0: the picture is kept."""
    return min(int(steps * strength), steps)


def img2img_pipeline(run):
    """The img2img pipeline of the same family over ``run``'s modules and scheduler (nothing loaded or copied)."""
    return derived_pipeline(run, IMG2IMG_CLASSES)


def derived_pipeline(run, classes: dict[str, str]):
    """``classes[type of run]`` (a diffusers pipeline class name) built over ``run``'s modules and scheduler."""
    import inspect

    import diffusers

    cls = getattr(diffusers, classes[type(run).__name__])
    accepted = inspect.signature(cls.__init__).parameters
    modules = {name: module for name, module in run.components.items() if name in accepted}
    extra = {"requires_safety_checker": False} if "requires_safety_checker" in accepted else {}
    pipe = cls(**modules, **extra)
    pipe.set_progress_bar_config(disable=True)
    return pipe
