"""txt2img and img2img as a service: the one function every entry point (UI, REST, /sdapi) calls.

1. check the parameters (fast, before queueing);
2. resolve the checkpoint, the optional VAE and the prompt's ``<lora:NAME:W>``
   tags to library files the user may see;
3. check the request against the device's work budget (``core.generation.limits``)
   and queue the work on the device's generation queue (shared by everyone, users
   taking turns, at most ``--max-queued-per-user`` waiting or running per user);
4. in the job: generate on the app's generation backend (``core.generation.backend``: the local process of
   ``core.generation.worker`` or the Ray pool of ``core.generation.ray_pool``; an LRU of loaded pipelines, loaded
   on a miss);
5. save each image as a PNG with A1111's ``parameters`` chunk under
   ``outputs/<date>/`` (atomic write) and record it, private, for its maker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from core.accounts.accounts import UserInfo
from core.accounts.preferences import get_preference, set_preference
from core.blurhash import blurhash_of
from core.errors import InvalidInput, NotAuthenticated, NotFound, VisionaryError
from core.generation.extras import find_upscaler, upscaler_models
from core.generation.hires import BUILT_IN_UPSCALERS, HiresFix
from core.generation.inpaint import Inpaint
from core.generation.queue import JobCancelled, wait_reporting
from core.generation.resources import find_checkpoint, primary_file, resolve_embeddings, resolve_loras
from core.library.base_models import SD1_FAMILY, SD2_FAMILY, SDXL_FAMILY, family_of
from core.library.library import get_model
from core.library.model_records import FileRecord, ModelRecord
from core.tables import Image

LAST_PARAMETERS = "txt2img.last_parameters"
NATIVE_SIZES = {SD1_FAMILY: 512, SD2_FAMILY: 768, SDXL_FAMILY: 1024}
DEMO_SIZE = 64


@dataclass(frozen=True)
class GenerateParams:
    """A1111's txt2img and img2img parameters; the checkpoint by id, hash or name (None: the default one).

    With ``init_image`` (the bytes of a PNG, JPEG or WebP as sent) the run is img2img; ``width``/``height`` None
    then means the init picture's size. ``hires`` adds A1111's hires fix to a txt2img run."""

    prompt: str
    model_id: int | None = None
    model_hash: str | None = None
    model_name: str | None = None
    negative_prompt: str = ""
    width: int | None = None
    height: int | None = None
    steps: int = 20
    cfg_scale: float = 7.0
    sampler: str = "Euler a"
    scheduler: str = "automatic"
    seed: int = -1
    batch_size: int = 1
    vae_id: int | None = None
    clip_skip: int = 1
    init_image: bytes | None = None
    denoising_strength: float = 0.75
    resize_mode: int = 0
    inpaint: Inpaint | None = None  # its mask: the bytes of a PNG, JPEG or WebP as sent
    hires: HiresFix | None = None
    # A1111 keeps what an interrupted run made (/sdapi); the Generate tab does not: a cancelled run saves nothing.
    keep_interrupted: bool = True


@dataclass(frozen=True)
class GeneratedImage:
    id: int
    path: str  # relative to outputs_dir
    seed: int
    width: int
    height: int
    parameters: str


@dataclass(frozen=True)
class GenerationResult:
    images: tuple[GeneratedImage, ...]
    model: str
    request: dict = field(default_factory=dict)

    @property
    def info(self) -> dict:
        """A1111's ``info`` object."""
        seeds = [image.seed for image in self.images]
        return {**self.request, "seed": seeds[0] if seeds else None, "all_seeds": seeds,
                "infotexts": [image.parameters for image in self.images], "sd_model_name": self.model}


def native_size(model: ModelRecord) -> int:
    return DEMO_SIZE if model.is_demo else NATIVE_SIZES.get(family_of(model.base_model), 512)


class SettingOutOfRange(InvalidInput):
    """A setting outside its range, refused with the range named (never clamped); fields as ``OutOfRange``'s."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.name, self.value, self.low, self.high, self.multiple = (cause.name, cause.value, cause.low,
                                                                     cause.high, cause.multiple)


def _init_picture(params: GenerateParams) -> tuple[bytes | None, tuple[int, int] | None]:
    """The init picture as PNG bytes and its size rounded down to multiples of 8 (None for txt2img); a
    non-picture or a decompression bomb is refused before anything is queued."""
    from core.generation.img2img import png_of
    from core.pictures import decode_picture

    if params.init_image is None:
        return None, None
    try:
        picture = decode_picture(params.init_image)
    except VisionaryError as exc:  # named, so a request with a mask or several pictures says which one
        raise type(exc)(f"the init image: {exc.message}") from None
    return png_of(picture), (max(64, picture.width // 8 * 8), max(64, picture.height // 8 * 8))


def _mask(params: GenerateParams) -> Inpaint | None:
    """The inpainting settings with the mask decoded safely into a greyscale PNG (refused before queueing)."""
    import dataclasses

    from core.generation.inpaint import mask_png
    from core.pictures import decode_picture

    if params.inpaint is None:
        return None
    if params.init_image is None:
        raise InvalidInput("a mask needs a picture to repaint: send the init image with it")
    try:
        picture = decode_picture(params.inpaint.mask)
    except VisionaryError as exc:
        raise type(exc)(f"the mask: {exc.message}") from None
    return dataclasses.replace(params.inpaint, mask=mask_png(picture))


def _request(params: GenerateParams, model: ModelRecord, upscaler_models: tuple[str, ...] = ()):
    from core.generation.diffusion import GenerationRequest, OutOfRange, check_inputs

    init_image, init_size = _init_picture(params)
    width, height = init_size or (native_size(model),) * 2
    request = GenerationRequest(
        prompt=params.prompt, negative_prompt=params.negative_prompt or "", width=params.width or width,
        height=params.height or height, steps=params.steps, cfg_scale=params.cfg_scale, sampler=params.sampler,
        scheduler=params.scheduler or "automatic", seed=params.seed, batch_size=params.batch_size,
        clip_skip=params.clip_skip, init_image=init_image, denoising_strength=params.denoising_strength,
        resize_mode=params.resize_mode, inpaint=_mask(params), hires=params.hires)
    try:
        check_inputs(request, upscaler_models)
    except OutOfRange as exc:
        raise SettingOutOfRange(exc) from None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return request


def _record(store, actor: UserInfo, model: ModelRecord, record: FileRecord, path: str, image, seed: int,
            request, parameters: str) -> GeneratedImage:
    from core.generation.pnginfo import parse_parameters

    blurhash = blurhash_of(image)
    with store.write():
        row = Image.create(owner=actor.id, path=path, width=image.width, height=image.height, prompt=request.prompt,
                           negative_prompt=request.negative_prompt, parameters=parameters,
                           meta=json.dumps(parse_parameters(parameters), default=str), seed=seed,
                           model_hash=record.autov2, model=model.id, model_version=record.version_id,
                           blurhash=blurhash)
    return GeneratedImage(row.id, path, seed, image.width, image.height, parameters)


def _hires_upscaler(actor: UserInfo, params: GenerateParams) -> ModelRecord | None:
    """The library upscaler the hires fix names (None for a built-in one); an unknown name is refused with the
    upscalers the actor may use."""
    if params.hires is None or params.init_image is not None or params.hires.upscaler in BUILT_IN_UPSCALERS:
        return None
    try:
        return find_upscaler(actor, params.hires.upscaler)
    except NotFound:
        choices = ", ".join((*BUILT_IN_UPSCALERS, *(m.name for m in upscaler_models(actor))))
        raise InvalidInput(f"unknown hires upscaler {params.hires.upscaler!r}; this server has: {choices}") from None


class GenerationJob:
    """The work one queued job does (runs on the queue's worker thread)."""

    def __init__(self, context, actor: UserInfo, params: GenerateParams):
        self.context, self.actor = context, actor
        self.model, self.file = find_checkpoint(actor, params.model_id, params.model_hash, params.model_name)
        self.upscaler = _hires_upscaler(actor, params)
        self.request = _request(params, self.model, (params.hires.upscaler,) if self.upscaler else ())
        self.loras = resolve_loras(actor, self.request.loras, self.model)
        hires = self.request.hires
        self.embeddings = resolve_embeddings(actor, self.model, self.request.text_prompt, self.request.negative_prompt,
                                             *((hires.prompt, hires.negative_prompt) if hires else ()))
        self.vae = self._vae(params.vae_id)
        self.keep_interrupted = params.keep_interrupted

    def _vae(self, vae_id: int | None) -> FileRecord | None:
        if vae_id is None:
            return None
        model = get_model(self.actor, vae_id)
        if model.type != "vae":
            raise InvalidInput(f"{model.name!r} is not a VAE")
        return primary_file(model)

    def _ref(self, record: FileRecord):
        from core.generation.backend import file_ref

        return file_ref(self.context.config.models_path, record)

    def task(self):
        """The run as a generator gets it: the request and each file's hash, size and place."""
        from core.generation.backend import GenerationTask

        return GenerationTask(
            checkpoint=self._ref(self.file), request=self.request, vae=self._ref(self.vae) if self.vae else None,
            loras=tuple((self._ref(f), w) for _, w, f in self.loras),
            embeddings=tuple((self._ref(f), name) for name, f in self.embeddings), device=self.context.config.device,
            user_id=self.actor.id, upscaler=self._ref(primary_file(self.upscaler)) if self.upscaler else None)

    def generate(self, job) -> list:
        """``[(PIL.Image, seed), ...]`` from the generation backend (steps reported to ``job``)."""
        from core.pipeline import ModelLoadError

        try:
            outcome = self.context.generator.run(self.task(), report=job.report, should_stop=job.should_stop,
                                                 should_skip=job.take_skip)
        except ModelLoadError as exc:
            raise InvalidInput(f"the checkpoint {self.model.name!r} cannot be loaded: {exc}") from None
        return outcome.images

    def __call__(self, job) -> GenerationResult:
        from core.generation.diffusion import infotext
        from core.generation.outputs import write_png
        from core.generation.pnginfo import png_bytes

        images = self.generate(job)
        if job.should_stop() and not self.keep_interrupted:
            raise JobCancelled("the generation was cancelled: nothing was saved")
        lora_hashes = {name: f.autov2 for name, _, f in self.loras} or None
        ti_hashes = {name: f.sha256[:12].lower() for name, f in self.embeddings} or None
        saved = []
        for image, seed in images:
            text = infotext(self.request, seed, model_hash=self.file.autov2, model_name=self.model.name,
                            lora_hashes=lora_hashes, ti_hashes=ti_hashes)
            path = write_png(self.context.config.outputs_path, png_bytes(image, text), label=str(seed))
            saved.append(_record(self.context.store, self.actor, self.model, self.file, path, image, seed,
                                 self.request, text))
        request = {"prompt": self.request.prompt, "negative_prompt": self.request.negative_prompt,
                   "width": self.request.width, "height": self.request.height, "steps": self.request.steps,
                   "cfg_scale": self.request.cfg_scale, "sampler_name": self.request.sampler,
                   "batch_size": self.request.batch_size, "sd_model_hash": self.file.autov2,
                   "denoising_strength": self.request.denoising_strength
                   if self.request.is_img2img or self.request.hires else None}
        if saved:  # the next visit to Generate starts from these settings, as A1111 users expect
            set_preference(self.context.store, self.actor.id, LAST_PARAMETERS, saved[0].parameters)
        return GenerationResult(tuple(saved), self.model.name, request)


def check_work_budget(config, request) -> None:
    """Raise ``TooMuchWork`` (400) for a request over ``--max-work-per-request`` (or the device's default)."""
    from core.generation.limits import check_work, work_limit

    limit, kind = work_limit(config.max_work_per_request, config.device)
    width, height, steps = request.width, request.height, request.steps
    if request.passes == 2:  # hires fix: counted as all its steps at the larger size
        width, height = request.hires.target_size(width, height)
        steps += request.hires.steps or request.steps
    check_work(width, height, steps, request.batch_size, limit, kind)


def submit_generation(context, actor: UserInfo | None, params: GenerateParams):
    """Check, resolve and queue; returns the queue's Job at once. Bad input and a request over the work budget
    raise before queueing, and so does one more than the user may have queued (``TooManyQueued``, 429)."""
    if actor is None:
        raise NotAuthenticated("log in to generate images")
    work = GenerationJob(context, actor, params)
    check_work_budget(context.config, work.request)
    kind = "img2img" if work.request.is_img2img else "txt2img"
    return context.queue.submit(work, owner=actor.id, label=f"{kind} {work.model.name}")


def run_generation(context, actor: UserInfo | None, params: GenerateParams,
                on_update: Callable[[object], None] | None = None) -> GenerationResult:
    """Queue and wait; ``on_update(job)`` is called whenever the job's position or progress changes."""
    return wait_reporting(submit_generation(context, actor, params), on_update)


def cancel_jobs_of(context, actor: UserInfo | None) -> int:
    """Interrupt the actor's waiting and running generations (A1111's interrupt); returns how many."""
    if actor is None:
        raise NotAuthenticated("log in to cancel a generation")
    jobs = context.queue.jobs_of(actor.id)
    for job in reversed(jobs):  # the waiting ones first, so none starts when a running one stops
        context.queue.cancel(job.id, by=actor.id, is_admin=actor.is_admin)
    return len(jobs)


def match_checkpoint(actor: UserInfo | None, model_hash: str | None, model_name: str | None) -> ModelRecord | None:
    """The visible checkpoint an infotext names (by ``Model hash``, else by ``Model``), or None."""
    for by_hash, by_name in ((model_hash, None), (None, model_name)):
        if by_hash or by_name:
            try:
                return find_checkpoint(actor, model_hash=by_hash, model_name=by_name)[0]
            except VisionaryError:
                continue
    return None


def settings_from_infotext(actor: UserInfo | None, text: str) -> dict:
    """Generate-form settings from A1111 ``parameters`` text (ours or anyone's).

    ``prompt``, ``negative_prompt``, ``steps``, ``cfg_scale``, ``seed``, ``width``,
    ``height``, ``sampler`` and ``scheduler`` (a schedule type id) where the text
    has them and they are valid here; ``model`` (a ModelRecord) when a checkpoint
    the actor may see matches, else ``missing_model`` (what the text names).
    """
    from core.generation.pnginfo import parse_parameters, to_request_fields
    from core.generation.samplers import find_schedule_type, resolve_sampler

    fields = to_request_fields(parse_parameters(text or ""))
    sampler, schedule = fields.pop("sampler", None), fields.pop("scheduler", None)
    try:
        if sampler:
            resolve_sampler(sampler, schedule)
            fields.update(sampler=sampler, scheduler=find_schedule_type(schedule).name)
    except ValueError:
        pass
    model_hash, model_name = fields.pop("model_hash", None), fields.pop("model_name", None)
    model = match_checkpoint(actor, model_hash, model_name)
    if model is not None:
        fields["model"] = model
    elif model_hash or model_name:
        fields["missing_model"] = " ".join(filter(None, (model_name, f"[{model_hash}]" if model_hash else None)))
    return fields


def last_parameters(actor: UserInfo | None) -> str | None:
    """The A1111 parameters text of the user's last generated image, if any."""
    return get_preference(actor.id, LAST_PARAMETERS) if actor is not None else None
