"""txt2img requests and the generation loop (stages 4 and 5 of ``core.pipeline``).

Each image of a batch is its own pipeline call with its own CPU
``torch.Generator`` seeded ``seed + i``: image ``i`` of a batch is bit-identical
to a single run with that seed (a batched call differs in the last bits on
CPU), and A1111's skip can drop one image and go on with the next.
"""

from __future__ import annotations

import copy
import math
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from core.generation.embeddings import embeddings_applied
from core.generation.hires import HiresFix, check_hires
from core.generation.img2img import check_resize_mode
from core.generation.inpaint import Inpaint, check_inpaint
from core.generation.lora import loras_applied, merge_weights, parse_lora_tags
from core.generation.passes import make_image
from core.generation.prompt_encoding import encode_prompts
from core.generation.samplers import make_scheduler, resolve_sampler

MAX_SEED = 2**63 - 1 - 8  # leaves room for seed + batch index
MAX_RANDOM_SEED = 4294967294  # A1111 draws random seeds below this


# --------------------------------------------------------------------------- 4. request
@dataclass(frozen=True)
class GenerationRequest:
    """txt2img and img2img parameters, A1111 semantics. ``prompt`` keeps its ``<lora:...>`` tags (they go in the
    infotext). With ``init_image`` (PNG bytes) it is img2img: the picture fitted to width × height by
    ``resize_mode`` and denoised by ``denoising_strength``; without, ``hires`` adds A1111's hires fix."""

    prompt: str
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    steps: int = 20
    cfg_scale: float = 7.0
    sampler: str = "Euler a"
    scheduler: str = "automatic"
    seed: int = -1
    batch_size: int = 1
    clip_skip: int = 1  # A1111's "Clip skip": 2 conditions on the text encoder's last layer but one
    init_image: bytes | None = None
    denoising_strength: float = 0.75
    resize_mode: int = 0
    inpaint: Inpaint | None = None  # img2img only: repaint inside its mask
    hires: HiresFix | None = None

    @property
    def is_img2img(self) -> bool:
        return self.init_image is not None

    @property
    def passes(self) -> int:
        """Denoising passes per image (hires fix adds one)."""
        return 2 if self.hires is not None and not self.is_img2img else 1

    @property
    def text_prompt(self) -> str:
        """The prompt without LoRA tags: what the text encoder sees."""
        return parse_lora_tags(self.prompt)[0]

    @property
    def loras(self) -> list[tuple[str, float]]:
        """``[(name, weight)]`` from the prompt's ``<lora:NAME:WEIGHT>`` tags."""
        return parse_lora_tags(self.prompt)[1]


class OutOfRange(ValueError):
    """A setting outside its range (or off its step); the numbers are kept so a UI can say it in its language."""

    def __init__(self, name: str, value, low, high, multiple=None):
        self.name, self.value, self.low, self.high, self.multiple = name, value, low, high, multiple
        if multiple is not None:
            super().__init__(f"{name} must be a multiple of {multiple}, got {value}")
        else:
            super().__init__(f"{name} must be between {low} and {high}, got {value}")


def _require_int(name: str, value, low: int, high: int, multiple: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise OutOfRange(name, value, low, high)
    if value % multiple:
        raise OutOfRange(name, value, low, high, multiple)


def check_inputs(request: GenerationRequest, upscaler_models: tuple[str, ...] = ()) -> None:
    """Raise ``ValueError`` with a clear message for any out-of-range parameter; ``upscaler_models`` are the
    library upscalers a hires fix may name."""
    if not isinstance(request.prompt, str):
        raise ValueError("prompt must be text")
    if not isinstance(request.negative_prompt, str):
        raise ValueError("negative_prompt must be text")
    _require_int("width", request.width, 64, 2048, 8)
    _require_int("height", request.height, 64, 2048, 8)
    _require_int("steps", request.steps, 1, 150)
    _require_int("batch_size", request.batch_size, 1, 8)
    cfg = request.cfg_scale
    if isinstance(cfg, bool) or not isinstance(cfg, (int, float)) or not math.isfinite(cfg):
        raise ValueError(f"cfg_scale must be a number between 1 and 30, got {cfg!r}")
    if not 1 <= cfg <= 30:
        raise OutOfRange("cfg_scale", cfg, 1, 30)
    if request.seed != -1:
        _require_int("seed", request.seed, 0, MAX_SEED)
    resolve_sampler(request.sampler, request.scheduler)
    parse_lora_tags(request.prompt)
    strength = request.denoising_strength
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
        raise ValueError(f"denoising_strength must be between 0 and 1, got {strength!r}")
    check_resize_mode(request.resize_mode)
    _require_int("clip_skip", request.clip_skip, 1, 12)
    if request.inpaint is not None:
        if not request.is_img2img:
            raise ValueError("a mask needs a picture to repaint: send the init image with it")
        check_inpaint(request.inpaint)
    if request.hires is not None and not request.is_img2img:
        check_hires(request.hires, request.width, request.height, upscaler_models)


def resolve_seeds(seed: int, count: int) -> list[int]:
    """``[seed, seed+1, ...]``; seed -1 draws a random one (A1111's range)."""
    if seed == -1:
        seed = secrets.randbelow(MAX_RANDOM_SEED)
    return [seed + i for i in range(count)]


# --------------------------------------------------------------------------- 5. generation
class ModelLock:
    """Shared/exclusive lock of one loaded model.

    Plain runs share the model (each on its own shallow pipeline copy with its
    own scheduler); a run with LoRAs injects layers into the shared modules, so
    it holds the model alone. Waiting exclusive runs block new shared ones.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self):
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writer and not self._readers)
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def model_lock(pipe) -> ModelLock:
    """The pipeline's lock (``dict.setdefault`` is atomic, so two threads get the same one)."""
    return pipe.__dict__.setdefault("_visionary_lock", ModelLock())


def _run_copy(pipe, sampler: str, schedule_type: str):
    """A shallow copy of ``pipe`` sharing its modules, with its own scheduler and interrupt flag.

    The scheduler is built from the original pipeline's config, which runs never
    change, so every run starts from the model's own settings.
    """
    run = copy.copy(pipe)
    run.scheduler = make_scheduler(pipe.scheduler.config, sampler, schedule_type)
    return run


class _Hooks:
    """diffusers' ``callback_on_step_end`` for a batch: overall progress, interrupt and skip.

    Progress counts scheduler steps (second-order samplers such as Heun take
    about twice ``steps``), over all images of the batch and each one's passes (hires fix has two).
    """

    def __init__(self, n_images, progress_callback, should_stop, should_skip, passes: int = 1):
        self.n_slots = n_images * passes  # each denoising pass of each image is one slot of the bar
        self.passes = passes
        self.image_index = 0
        self.pass_index = 0
        self.progress_callback = progress_callback
        self.should_stop = should_stop
        self.should_skip = should_skip
        self.stopped = False

    def stop_requested(self) -> bool:
        if self.should_stop is not None and self.should_stop():
            self.stopped = True
        return self.stopped

    def __call__(self, run, step, _timestep, callback_kwargs):
        if self.progress_callback is not None:
            per_slot = run.num_timesteps
            slot = self.image_index * self.passes + self.pass_index
            self.progress_callback(slot * per_slot + step + 1, self.n_slots * per_slot)
        if self.stop_requested():
            run._interrupt = True  # the pipeline skips its remaining steps, then decodes
        elif self.should_skip is not None and self.should_skip():
            run._interrupt = True
        return callback_kwargs


def generate(
    pipe,
    request: GenerationRequest,
    *,
    loras: Sequence[tuple[str | Path, float]] = (),
    embeddings: Sequence[tuple[str | Path, str]] = (),
    progress_callback: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    should_skip: Callable[[], bool] | None = None,
    upscaler: str | Path | None = None,
) -> list[tuple[Any, int]]:
    """Run txt2img; returns ``[(PIL.Image, seed), ...]``, one per image made.

    ``loras`` are ``(safetensors path, weight)`` pairs (the caller maps the
    prompt's tag names to library files), applied for this run only; so are
    ``embeddings``, ``(safetensors path, name)`` textual inversions the prompts
    name. The prompts are read with A1111's syntax (``core.generation.prompt_encoding``).
    ``progress_callback(step, total)`` is called after every step, counted over
    the whole batch. When ``should_stop()`` turns true the current image stops
    after its current step, is decoded as it is and returned with those before
    it (A1111's interrupt; a stop requested before the first step gives no
    image). ``should_skip()`` (which should reset itself once read) ends only
    the current image early and goes on with the next. ``upscaler`` is the library upscaler file that the
    request's hires fix names (``hires.upscaler``), loaded for this run.
    """
    import torch

    # 1. Check inputs
    check_inputs(request, (request.hires.upscaler,) if upscaler and request.hires else ())
    # 2. Seeds: image i uses seed + i
    seeds = resolve_seeds(request.seed, request.batch_size)
    # 3. Hooks for progress, interrupt and skip
    hooks = _Hooks(len(seeds), progress_callback, should_stop, should_skip, request.passes)
    # 4. Denoise and decode each image, LoRAs and embeddings applied for this run only (they change the shared
    #    modules, so such a run holds the model alone)
    active = merge_weights(loras)
    lock = model_lock(pipe)
    results = []
    with lock.exclusive() if active or embeddings else lock.shared():
        run = _run_copy(pipe, request.sampler, request.scheduler)
        net = _hires_upscaler(upscaler, request, pipe.device)
        with loras_applied(run, active), embeddings_applied(run, embeddings), torch.inference_mode():
            conditioning = encode_prompts(run, request.text_prompt, request.negative_prompt, request.clip_skip)
            for i, seed in enumerate(seeds):
                if hooks.stop_requested():
                    break
                hooks.image_index = i
                results.append((make_image(run, request, seed, hooks, conditioning, net), seed))
    return results


def _hires_upscaler(path, request: GenerationRequest, device):
    """The library upscaler of the request's hires fix, loaded for this run (None: a built-in one)."""
    if path is None or request.hires is None or request.is_img2img:
        return None
    from core.generation.upscaler_nets import load_upscaler

    return load_upscaler(path, device)


def infotext(
    request: GenerationRequest,
    seed: int,
    *,
    model_hash: str | None,
    model_name: str | None,
    lora_hashes: dict[str, str] | None = None,
    ti_hashes: dict[str, str] | None = None,
) -> str:
    """A1111's ``parameters`` text for one image of ``request`` (prompt with its LoRA tags, as A1111 keeps it)."""
    from core.generation.pnginfo import format_parameters
    from core.generation.samplers import display_name

    sampler, schedule_type = display_name(request.sampler, request.scheduler)
    return format_parameters(
        request.prompt,
        request.negative_prompt,
        steps=request.steps,
        sampler=sampler,
        schedule_type=schedule_type,
        cfg_scale=request.cfg_scale,
        seed=seed,
        width=request.width,
        height=request.height,
        model_hash=model_hash,
        model_name=model_name,
        lora_hashes=lora_hashes,
        ti_hashes=ti_hashes,
        extra=_pass_fields(request),
    )


def _pass_fields(request: GenerationRequest) -> dict:
    """What A1111 writes for clip skip, an img2img run (its denoising strength) or a hires fix (its settings)."""
    fields = {"Clip skip": request.clip_skip} if request.clip_skip > 1 else {}
    if request.is_img2img:
        fields["Denoising strength"] = f"{request.denoising_strength:g}"
        return fields | (request.inpaint.infotext_fields() if request.inpaint else {})
    if request.hires is not None:
        return fields | request.hires.infotext_fields(request.width, request.height)
    return fields
