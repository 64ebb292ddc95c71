"""Offline Stable Diffusion loader and pipeline cache: the engine room under ``core.generation``.

Plain Python: no web, UI or database knowledge. The stages, in the order a
generation goes through them:

1. ``resolve_device`` — CUDA (fp16, PyTorch SDPA attention, xformers when
   installed), else Apple MPS, else CPU (float32); a device string overrides.
2. ``load_pipeline`` — a diffusers folder (``from_pretrained``) or a single-file
   A1111/Civitai checkpoint (``from_single_file``) with the configs shipped in
   ``core/pipeline_configs`` (chosen from the weights) or a ``<name>.config/``
   folder beside the file. Only safetensors are ever read, and nothing is
   fetched from a hub: every call passes ``local_files_only=True`` and a local
   config folder.
3. ``PipelineCache`` — an LRU of loaded pipelines keyed by the file's SHA-256.

The request and the denoise loop that run on a loaded pipeline are
``core.generation.diffusion`` (which imports this module, never the reverse).

torch and diffusers are imported inside the functions, so importing this module
at web-app start-up costs nothing.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import tempfile
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Hashable, Iterator

CONFIGS_DIR = Path(__file__).resolve().parent / "pipeline_configs"
BASE_CONFIG_DIRS = {"sd1": "sd15", "sd2": "sd2", "sdxl": "sdxl"}  # by family (core.library.base_models)
PIPELINE_CLASSES = ("StableDiffusionPipeline", "StableDiffusionXLPipeline")
# An inpainting checkpoint's UNet also takes the mask and the masked picture's latents (4 + 1 + 4 channels); it
# loads as its family's pipeline and core.generation.passes runs every pass through the inpainting pipeline.
INPAINT_IN_CHANNELS = 9


class ModelLoadError(ValueError):
    """A checkpoint cannot be loaded (wrong format, unknown architecture...)."""


# --------------------------------------------------------------------------- 1. device
def resolve_device(device: str | None = None):
    """``(torch.device, dtype)``: CUDA fp16 if present, else MPS, else CPU float32; ``device`` overrides."""
    import torch

    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            dev = torch.device("cuda")
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            dev = torch.device("mps")
        else:
            dev = torch.device("cpu")
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"unknown device {device!r}") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev, (torch.float16 if dev.type == "cuda" else torch.float32)


# --------------------------------------------------------------------------- 2. loading
def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a validated header; refuses anything that is not safetensors (never unpickles)."""
    from core.library.modelfile_errors import ModelFileError
    from core.library.safetensors_check import validate_safetensors

    try:
        return validate_safetensors(path, library_check=False).shapes
    except ModelFileError as exc:
        raise ModelLoadError(f"{exc}; only safetensors checkpoints are loaded") from exc


def find_config_dir(path: Path, shapes: dict[str, tuple] | None = None) -> Path:
    """The configs-only diffusers folder for a single-file checkpoint.

    ``<name>.config/`` beside the file wins (as A1111's ``<name>.yaml``); else the
    shipped folder of the base model detected from tensor names and shapes (``<family>_inpaint`` for an inpainting
    checkpoint, whose first convolution takes 9 channels: A1111 tells them apart the same way).
    """
    from core.library.base_models import family_of
    from core.library.model_kind import detect_model

    path = Path(path)
    beside = path.with_suffix(".config")
    if (beside / "model_index.json").is_file():
        return beside
    shapes = safetensors_shapes(path) if shapes is None else shapes
    kind, base = detect_model(shapes)
    if kind != "checkpoint":
        raise ModelLoadError(f"{path.name} is a {kind} file, not a checkpoint")
    conv_in = shapes.get("model.diffusion_model.input_blocks.0.0.weight")
    in_channels = conv_in[1] if conv_in is not None and len(conv_in) == 4 else 4
    if in_channels not in (4, INPAINT_IN_CHANNELS):
        raise ModelLoadError(f"{path.name} takes {in_channels} input channels (an instruct-pix2pix or depth model?); "
                             "checkpoints here take 4, inpainting ones 9")
    family = family_of(base)
    if family not in BASE_CONFIG_DIRS:
        raise ModelLoadError(
            f"cannot tell the architecture of {path.name}; put a configs-only diffusers folder "
            f"named {beside.name}/ beside it"
        )
    inpaint = "_inpaint" if in_channels == INPAINT_IN_CHANNELS else ""  # the same folder, its UNet taking 9 channels
    return CONFIGS_DIR / f"{BASE_CONFIG_DIRS[family]}{inpaint}"


def _pipeline_class(config_dir: Path):
    import diffusers

    index = json.loads((Path(config_dir) / "model_index.json").read_text(encoding="utf-8"))
    name = index.get("_class_name")
    if name not in PIPELINE_CLASSES:
        raise ModelLoadError(f"{Path(config_dir).name}: pipeline class {name!r} is not supported for txt2img")
    return getattr(diffusers, name)


def _pipeline_kwargs(cls) -> dict[str, Any]:
    """No NSFW safety checker (A1111 has none); it would also need extra weights."""
    if cls.__name__ == "StableDiffusionPipeline":
        return {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
    return {}


@contextmanager
def _safetensors_named(path: Path) -> Iterator[Path]:
    """diffusers picks the reader by file extension: give it a ``.safetensors`` name."""
    if path.name.endswith(".safetensors"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="visionary-ckpt-") as tmp:
        link = Path(tmp) / "model.safetensors"
        link.symlink_to(path.resolve())
        yield link


def _load_single_file(path: Path, config_dir: Path | None, dtype):
    shapes = safetensors_shapes(path)
    config_dir = Path(config_dir) if config_dir else find_config_dir(path, shapes)
    cls = _pipeline_class(config_dir)
    with _safetensors_named(path) as loadable:
        pipe = cls.from_single_file(
            str(loadable), config=str(config_dir), local_files_only=True, dtype=dtype, **_pipeline_kwargs(cls)
        )
    return pipe, config_dir


def _weights_variant(folder: Path) -> str | None:
    """``fp16`` for folders that hold only ``*.fp16.safetensors`` weights (common on the Hub)."""
    weights = list((folder / "unet").glob("*.safetensors"))
    if weights and all(".fp16." in p.name for p in weights):
        return "fp16"
    return None


def _load_diffusers_folder(folder: Path, dtype):
    cls = _pipeline_class(folder)
    return cls.from_pretrained(
        str(folder), local_files_only=True, use_safetensors=True, dtype=dtype, variant=_weights_variant(folder),
        **_pipeline_kwargs(cls),
    )


def load_vae(path, config_dir, dtype=None):
    """A VAE override from a safetensors file (A1111/LDM names or diffusers names)."""
    from diffusers import AutoencoderKL

    path = Path(path)
    safetensors_shapes(path)
    with _safetensors_named(path) as loadable:
        return AutoencoderKL.from_single_file(
            str(loadable), config=str(config_dir), subfolder="vae", local_files_only=True, dtype=dtype
        )


def load_pipeline(path, *, config_dir=None, device: str | None = None, dtype=None, vae_path=None):
    """Load a checkpoint (single safetensors file or diffusers folder) ready to generate on ``device``."""
    path = Path(path)
    torch_device, default_dtype = resolve_device(device)
    dtype = dtype or default_dtype
    if path.is_dir():
        pipe, config_dir = _load_diffusers_folder(path, dtype), path
    elif path.is_file():
        pipe, config_dir = _load_single_file(path, config_dir, dtype)
    else:
        raise ModelLoadError(f"checkpoint {path} does not exist")
    if vae_path is not None:
        pipe.vae = load_vae(vae_path, config_dir, dtype)
    return _prepare(pipe, torch_device)


def _leave_a_core_for_the_server() -> None:
    """On CPU, torch would take every core and the web server would wait for CPU while an image is made."""
    import os

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def _prepare(pipe, device):
    if device.type == "cpu":
        _leave_a_core_for_the_server()
    if pipe.device != device:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    # diffusers uses PyTorch SDPA (AttnProcessor2_0) by default; xformers only where it is installed.
    if device.type == "cuda" and importlib.util.find_spec("xformers") is not None:
        try:
            pipe.enable_xformers_memory_efficient_attention()
        except Exception:  # a broken xformers build: SDPA stays in place
            pass
    return pipe


# --------------------------------------------------------------------------- 3. cache
class PipelineCache:
    """LRU cache of loaded pipelines, keyed by the caller's file hash (SHA-256, plus VAE hash if any).

    A hit touches no file. ``max_models`` 0 disables caching. When a new model is
    loaded into a full cache the least recently used one is dropped first, so
    peak memory stays at ``max_models`` pipelines (plus any still generating).
    """

    def __init__(self, max_models: int = 1):
        self.max_models = max(0, int(max_models))
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            pipe = self._items.get(key)
            if pipe is not None:
                self._items.move_to_end(key)
            return pipe

    def get_or_load(self, key: Hashable, loader: Callable[[], Any]):
        """The cached pipeline for ``key``, else ``loader()``'s (loads run one at a time)."""
        pipe = self.get(key)
        if pipe is not None:
            return pipe
        with self._load_lock:
            pipe = self.get(key)
            if pipe is None:
                self._evict_down_to(self.max_models - 1)
                pipe = loader()
                self.put(key, pipe)
        return pipe

    def put(self, key: Hashable, pipe) -> None:
        if self.max_models == 0:
            return
        with self._lock:
            self._items[key] = pipe
            self._items.move_to_end(key)
        self._evict_down_to(self.max_models)

    def evict(self, key: Hashable) -> bool:
        with self._lock:
            found = self._items.pop(key, None) is not None
        if found:
            _release_memory()
        return found

    def clear(self) -> None:
        self._evict_down_to(0)

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _evict_down_to(self, size: int) -> None:
        dropped = False
        with self._lock:
            while len(self._items) > max(size, 0):
                self._items.popitem(last=False)
                dropped = True
        if dropped:
            _release_memory()


def _release_memory() -> None:
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


