"""How much one generation request may ask for: a work budget sized for the device.

A request's work is ``width × height × steps × images`` in megapixel-steps: on a
CPU a 512×512 step of SD 1.x takes seconds, and a step's cost grows with its
pixels (attention more than linearly), so a 2048×2048 × 150-step × 8-image
request would hold the one generation slot for hours and its single steps for
minutes each (an interrupt is seen between steps). Bounding the work per request
bounds the first; bounding one step's pixels to a share of that budget
(``STEP_SHARE``) bounds the second, so a cancel takes effect soon.
``--max-work-per-request`` sets the budget; without it the device kind decides
(``DEFAULT_WORK``).
"""

from __future__ import annotations

import glob
import importlib.metadata
import os
import platform

from core.errors import InvalidInput

CPU, GPU = "CPU", "GPU"
DEFAULT_WORK = {CPU: 40.0, GPU: 4000.0}  # megapixel-steps: ~5 minutes of SD 1.x on a desktop CPU; GPUs ~100× faster
# One step may be at most this share of the request budget (in megapixels: width × height × images), so an
# interrupt or skip, seen between steps, waits for at most an eighth of the longest run the server allows.
STEP_SHARE = 1 / 8
NVIDIA_DEVICES = ("/dev/nvidia[0-9]*", "/proc/driver/nvidia/gpus/*")


def device_kind(device: str | None) -> str:
    """``CPU`` or ``GPU`` for the configured ``--device``, without importing torch.

    The web server never imports torch (it costs seconds and ~200 MB, and only the
    generation process needs it), so ``auto`` is resolved the way
    ``core.pipeline.resolve_device`` would resolve it, from cheap facts: CUDA when
    the NVIDIA driver shows a device that ``CUDA_VISIBLE_DEVICES`` does not hide
    and the installed torch is not a CPU-only build (``+cpu``); MPS on Apple
    silicon; else the CPU. A wrong guess only changes the default budget, which
    ``--max-work-per-request`` overrides.
    """
    wanted = (device or "auto").strip().lower()
    if wanted != "auto":
        return CPU if wanted == "cpu" else GPU
    if _cuda_likely() or (platform.system() == "Darwin" and platform.machine() == "arm64"):
        return GPU
    return CPU


def _cuda_likely() -> bool:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if not any(glob.glob(pattern) for pattern in NVIDIA_DEVICES):
        return False
    try:
        return "+cpu" not in importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return False


def work_limit(max_work_per_request: float | None, device: str | None) -> tuple[float, str]:
    """``(limit in megapixel-steps, device kind)``: the setting if given, else the device kind's default."""
    kind = device_kind(device)
    return (max_work_per_request if max_work_per_request is not None else DEFAULT_WORK[kind]), kind


def request_work(width: int, height: int, steps: int, images: int) -> float:
    """Megapixel-steps of a txt2img request: ``width × height × steps × images / 10⁶``."""
    return width * height * steps * images / 1e6


class TooMuchWork(InvalidInput):
    """A request over the work budget; the numbers are kept so the UI can say it in the user's language."""

    def __init__(self, width: int, height: int, steps: int, images: int, limit: float, device_kind: str):
        self.width, self.height, self.steps, self.images = width, height, steps, images
        self.work = round(request_work(width, height, steps, images), 1)
        self.limit, self.device_kind = limit, device_kind
        super().__init__(
            f"this generation is {self.work:g} megapixel-steps ({width}×{height} px × {steps} steps × {images} "
            f"image{'s' if images != 1 else ''}), more than the {limit:g} this server allows per request on its "
            f"{device_kind}: lower the size, the steps or the batch size (the server's --max-work-per-request "
            "setting changes the limit)")


class StepTooLarge(InvalidInput):
    """A request whose single steps are too large to interrupt soon; numbers kept as for ``TooMuchWork``."""

    def __init__(self, width: int, height: int, images: int, step_limit: float, device_kind: str):
        self.width, self.height, self.images = width, height, images
        self.megapixels = round(request_work(width, height, 1, images), 2)
        self.step_limit, self.device_kind = step_limit, device_kind
        super().__init__(
            f"one step of this generation is {self.megapixels:g} megapixels ({width}×{height} px × {images} "
            f"image{'s' if images != 1 else ''}), more than the {step_limit:g} this server allows in one step on its "
            f"{device_kind} (so that cancelling takes effect soon): lower the size or the batch size")


def check_work(width: int, height: int, steps: int, images: int, limit: float, kind: str) -> None:
    """Raise ``TooMuchWork`` when the request's megapixel-steps are over ``limit``, ``StepTooLarge`` when one of
    its steps is over ``limit × STEP_SHARE`` megapixels."""
    if request_work(width, height, steps, images) > limit:
        raise TooMuchWork(width, height, steps, images, limit, kind)
    step_limit = limit * STEP_SHARE
    if request_work(width, height, 1, images) > step_limit:
        raise StepTooLarge(width, height, images, step_limit, kind)
