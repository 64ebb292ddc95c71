"""What the A1111-compatible API (``/sdapi/v1``) needs besides the txt2img service.

- checkpoints found the way A1111 finds them (title, name, file name or hash);
- the checkpoint each user chose with ``POST options``, kept in the database;
- the caller's generation jobs, for ``progress``, ``interrupt`` and ``skip``;
- the infotext and text chunks of an image, for ``png-info``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from core.accounts.accounts import UserInfo
from core.accounts.preferences import get_preference, set_preference
from core.errors import Forbidden, InvalidInput, NotFound, TooLarge
from core.generation.queue import RUNNING, GenerationQueue, Job
from core.generation.resources import checkpoint_choices, embedding_name, fits, models_of_type, primary_file, title_of
from core.generation.service import cancel_jobs_of
from core.library.model_records import ModelRecord

CHECKPOINT_PREFERENCE = "sdapi.sd_model_checkpoint"  # value: the SHA-256 of the checkpoint's file
_CHECKSUM = re.compile(r"\s*\[[^\]]+\]\s*$")  # A1111's re_strip_checksum


# --------------------------------------------------------------------------- checkpoints
def checkpoint_aliases(model: ModelRecord) -> set[str]:
    """Every string that names this checkpoint exactly (lower case): title, name, file name, hashes."""
    record = primary_file(model)
    names = (title_of(model), model.name, record.original_name, Path(record.original_name).stem,
             f"{record.original_name} [{record.autov2}]", record.autov2, record.sha256)
    return {name.lower() for name in names}


def find_checkpoint(actor: UserInfo | None, text: str) -> ModelRecord:
    """A1111's ``get_closet_checkpoint_match``: an exact alias, else the shortest title that contains
    the text, else the shortest one that contains it without its ``[hash]`` (case-insensitive)."""
    wanted = (text or "").strip().lower()
    choices = checkpoint_choices(actor)
    exact = [model for model in choices if wanted in checkpoint_aliases(model)]
    if exact:
        return exact[0]
    for needle in (wanted, _CHECKSUM.sub("", wanted)):
        found = sorted((m for m in choices if needle and needle in title_of(m).lower()), key=lambda m: len(title_of(m)))
        if found:
            return found[0]
    raise NotFound(f"no checkpoint matches {text!r} (GET /sdapi/v1/sd-models lists them)")


def chosen_checkpoint(actor: UserInfo | None) -> ModelRecord | None:
    """The checkpoint the actor chose, while they may still see it; else the default; None if there is none."""
    choices = checkpoint_choices(actor)
    chosen = get_preference(actor.id, CHECKPOINT_PREFERENCE) if actor is not None else None
    return next((m for m in choices if primary_file(m).sha256 == chosen), choices[0] if choices else None)


def choose_checkpoint(store, actor: UserInfo, text: str) -> ModelRecord:
    """Remember the checkpoint ``text`` names as the actor's (A1111's ``sd_model_checkpoint`` option)."""
    model = find_checkpoint(actor, text)
    set_preference(store, actor.id, CHECKPOINT_PREFERENCE, primary_file(model).sha256)
    return model


def embedding_listing(actor: UserInfo | None, models_path: Path) -> dict:
    """A1111's ``/sdapi/v1/embeddings``: the library's embeddings that fit the actor's checkpoint are ``loaded``
    (a prompt naming them uses them), the others ``skipped``; each with its vector count and width."""
    from core.pipeline import ModelLoadError, safetensors_shapes

    checkpoint = chosen_checkpoint(actor)
    listing: dict[str, dict] = {"loaded": {}, "skipped": {}}
    for model in models_of_type(actor, "embedding"):
        try:
            shapes = safetensors_shapes(models_path / primary_file(model).stored_path)
        except (ModelLoadError, OSError):
            shapes = {}
        vectors = next((shape for shape in shapes.values() if len(shape) == 2), (0, None))
        usable = checkpoint is not None and fits(model.base_model, checkpoint.base_model)
        listing["loaded" if usable else "skipped"][embedding_name(model)] = {
            "step": None, "sd_checkpoint": None, "sd_checkpoint_name": None, "shape": vectors[1],
            "vectors": vectors[0]}
    return listing


# --------------------------------------------------------------------------- jobs
def _own_or_admin(queue: GenerationQueue, actor: UserInfo, job_id: str) -> Job:
    job = queue.get(job_id)
    if job is None:
        raise NotFound(f"no generation job {job_id!r}")
    if not job.can_be_cancelled_by(actor.id, actor.is_admin):
        raise Forbidden("only the job's owner or an admin can interrupt or skip it")
    return job


def interrupt(context, actor: UserInfo, job_id: str | None = None) -> None:
    """Stop one job (its owner or an admin may), or all of the actor's; a running job keeps what it made so far."""
    if job_id is None:
        cancel_jobs_of(context, actor)
    else:
        _own_or_admin(context.queue, actor, job_id).interrupt()


def skip(queue: GenerationQueue, actor: UserInfo, job_id: str | None = None) -> None:
    """End the current image of one running job (or the actor's) early and go on with the next."""
    jobs = queue.jobs_of(actor.id) if job_id is None else [_own_or_admin(queue, actor, job_id)]
    for job in jobs:
        if job.state == RUNNING:
            job.skip()


# --------------------------------------------------------------------------- png-info
def image_info(data: bytes) -> tuple[str, dict[str, str]]:
    """``(infotext, other text items)`` of a PNG, JPEG or WebP, as A1111's ``read_info_from_image``.

    Only the headers are read (pixels are never decoded), so no decompression bomb can go off.
    """
    from PIL import Image, UnidentifiedImageError

    from core.generation.pnginfo import PARAMETERS_KEY, read_parameters

    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG", "WEBP")) as image:
            items = {k: v for k, v in image.info.items()
                     if isinstance(k, str) and isinstance(v, str) and k != PARAMETERS_KEY}
            return read_parameters(image) or "", items
    except Image.DecompressionBombError:
        raise TooLarge("the image has more pixels than this site accepts") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput("the image is not a PNG, JPEG or WebP picture") from None
