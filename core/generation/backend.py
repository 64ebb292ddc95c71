"""Where images are made, behind one small interface: the queue calls ``GenerationBackend.run`` and never knows which.

Two backends implement it:

- ``core.generation.worker.GenerationWorker`` (``--generation-backend local``, the default): one child process
  beside the web server, with its own pipeline cache;
- ``core.generation.ray_pool.RayPool`` (``--generation-backend ray``): a Ray Serve deployment of GPU (or CPU)
  replicas, each holding the checkpoints it last used, that fetch model files by hash.

A ``GenerationTask`` (or an ``UpscaleTask``, the Extras tab's) is plain, picklable values: the request and a ``FileRef`` (hash, size, where the site keeps it)
for each file, so a replica on another machine can find the same bytes without the site's disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from core.errors import InvalidInput, VisionaryError
from core.generation.diffusion import GenerationRequest
from core.generation.upscaling import NONE, UpscaleSize
from core.pipeline import ModelLoadError


class GenerationCrashed(VisionaryError):
    """The process or replica making the image ended in the middle of a run (killed, out of memory, node lost)."""

    status = 503


@dataclass(frozen=True)
class FileRef:
    """One model file as a generator needs it: its content hash and size, and where the site stores it."""

    sha256: str
    size: int
    path: str  # absolute path on the web server's machine
    stored_path: str = ""  # relative to the models folder (a replica with the folder mounted finds it there)
    name: str = ""  # the file's name, for messages


def file_ref(models_path, record) -> FileRef:
    """A library file (a ``FileRecord``) as a generator needs it."""
    path = (Path(models_path) / record.stored_path).resolve()
    return FileRef(sha256=record.sha256, size=record.size, path=str(path), stored_path=record.stored_path,
                   name=record.original_name)


@dataclass(frozen=True)
class GenerationTask:
    """Everything a generator needs for one txt2img or img2img run."""

    checkpoint: FileRef
    request: GenerationRequest
    vae: FileRef | None = None
    loras: tuple[tuple[FileRef, float], ...] = ()
    embeddings: tuple[tuple[FileRef, str], ...] = ()  # textual inversions the prompts name: (file, name)
    upscaler: FileRef | None = None  # the library upscaler the hires fix names
    device: str | None = None
    user_id: int | None = None  # whose run it is: a replica may fetch only the files this user may use

    @property
    def cache_key(self) -> tuple[str, str | None]:
        """The loaded pipeline's identity: the checkpoint's SHA-256 and the VAE's."""
        return self.checkpoint.sha256, self.vae.sha256 if self.vae else None

    @property
    def files(self) -> list[FileRef]:
        """Every file the run reads."""
        return [self.checkpoint, *([self.vae] if self.vae else []), *(ref for ref, _ in self.loras),
                *(ref for ref, _ in self.embeddings), *([self.upscaler] if self.upscaler else [])]

    @property
    def model_id(self) -> str:
        """``cache_key`` as one string (Ray Serve's multiplexed model id)."""
        return f"{self.checkpoint.sha256}+{self.vae.sha256 if self.vae else 'novae'}"


@dataclass(frozen=True)
class UpscaleTask:
    """One Extras run: a picture (PNG bytes) to ``size`` with an upscaler (a built-in name, or a library model's
    name and its file), blended with a second one at ``second_visibility`` as A1111's Upscaler 2."""

    picture: bytes
    size: UpscaleSize
    upscaler: str
    model: FileRef | None = None
    second_upscaler: str = NONE
    second_model: FileRef | None = None
    second_visibility: float = 0.0
    device: str | None = None
    user_id: int | None = None

    @property
    def files(self) -> list[FileRef]:
        return [ref for ref in (self.model, self.second_model) if ref is not None]

    @property
    def model_id(self) -> str:
        """Routes the run to a replica that ran this upscaler last (its network is still in memory there)."""
        return f"upscaler+{self.model.sha256 if self.model else self.upscaler}"


Task = GenerationTask | UpscaleTask


@dataclass(frozen=True)
class GenerationOutcome:
    images: list  # [(PIL.Image, seed), ...]
    loaded: bool  # the checkpoint was loaded for this run (not in the generator's cache)
    worker: str = "local"  # which process or replica made it
    details: dict = field(default_factory=dict)  # what a replica says of itself after the run (its loads...)


Report = Callable[[int, int], None]
Flag = Callable[[], bool]


class GenerationBackend(Protocol):
    """What the generation queue's jobs call; ``core.context.AppContext.generator`` is one of these."""

    kind: str  # "local" or "ray"

    def run(self, task: Task, *, report: Report | None = None, should_stop: Flag | None = None,
            should_skip: Flag | None = None) -> GenerationOutcome:
        """Make the task's images, reporting steps; raises ``ModelLoadError``, ``InvalidInput``,
        ``GenerationCrashed`` or ``RuntimeError``."""

    def pool(self) -> dict:
        """What the Admin tab shows: ``{"backend", "address", "replicas": [{"id", "node", "models", "loads",
        "downloads", "running", "steps_after_last_stop"}]}``."""

    def close(self) -> None:
        """Stop generating; runs in flight fail at once."""


def failure(kind: str, message: str) -> Exception:
    """The exception a run that failed in a generator raises in the server: ``load`` (the checkpoint does not
    load: the user's to fix), ``input`` (a LoRA that does not fit, a file that does not match its hash) or a crash."""
    if kind == "load":
        return ModelLoadError(message)
    return InvalidInput(message) if kind == "input" else RuntimeError(message)
