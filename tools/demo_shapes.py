"""Synthetic shapes for the built-in demo model, and the pixel judge that grades its pictures.

Shared by ``tools/train_demo_model.py`` (training data, evaluation) and
``tests/test_demo_model.py`` (prompt adherence). Plain numpy + Pillow; no torch.

A picture is one large shape (circle, square or upright triangle) of one named
colour on a plain background of another, drawn at 4x and shrunk to 64x64 with
Lanczos, captioned ``"a red circle on a blue background"``.

The judge reads a 64x64 RGB picture back into (background colour, object
colour, shape): the background is the median colour of the border, the object
is every pixel far from it, its colour the median of its interior, and its shape
the one of three templates fitted to its bounding box (full box, inscribed
disc, upright triangle) that overlaps it best (IoU). A circle fills about 79% of
its box, a square 100%, a triangle 50%.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64  # pixels of a training picture
SUPERSAMPLE = 4  # drawn at SIZE * SUPERSAMPLE, then shrunk
MIN_SIDE, MAX_SIDE = 34, 48  # side of the shape's (square) bounding box, pixels at SIZE
MARGIN = 4  # shapes keep this far from the edge

# Well-separated named colours (sRGB).
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (255, 140, 0),
    "yellow": (250, 220, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 220),
    "purple": (130, 40, 180),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
COLOR_NAMES: tuple[str, ...] = tuple(COLORS)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")

# The fixed evaluation set: 12 prompts, every shape 4 times, every colour as object and as background.
EVAL_SCENES: tuple[tuple[str, str, str], ...] = (
    ("red", "circle", "blue"),
    ("green", "square", "white"),
    ("yellow", "triangle", "purple"),
    ("blue", "circle", "yellow"),
    ("white", "square", "black"),
    ("black", "triangle", "orange"),
    ("orange", "circle", "green"),
    ("purple", "square", "yellow"),
    ("red", "triangle", "white"),
    ("blue", "square", "orange"),
    ("green", "circle", "black"),
    ("white", "triangle", "red"),
)


@dataclass(frozen=True)
class Scene:
    color: str  # the object's colour
    shape: str
    background: str
    x0: int = 0  # bounding box of the shape, pixels at SIZE
    y0: int = 0
    side: int = 0

    @property
    def caption(self) -> str:
        return caption(self.color, self.shape, self.background)


def caption(color: str, shape: str, background: str) -> str:
    return f"a {color} {shape} on a {background} background"


def parse_caption(text: str) -> tuple[str, str, str]:
    """``(color, shape, background)`` of a caption made by ``caption``."""
    words = text.split()
    return words[1], words[2], words[5]


def eval_prompts() -> list[str]:
    return [caption(*scene) for scene in EVAL_SCENES]


# --------------------------------------------------------------------------- drawing
def random_scene(rng: np.random.Generator) -> Scene:
    """A uniformly drawn shape, object colour, different background colour, size and position."""
    shape = SHAPES[rng.integers(len(SHAPES))]
    color = COLOR_NAMES[rng.integers(len(COLOR_NAMES))]
    others = [c for c in COLOR_NAMES if c != color]
    background = others[rng.integers(len(others))]
    side = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
    x0 = int(rng.integers(MARGIN, SIZE - MARGIN - side + 1))
    y0 = int(rng.integers(MARGIN, SIZE - MARGIN - side + 1))
    return Scene(color, shape, background, x0, y0, side)


def centered_scene(color: str, shape: str, background: str, side: int = 40) -> Scene:
    x0 = (SIZE - side) // 2
    return Scene(color, shape, background, x0, x0, side)


def shape_polygon(shape: str, x0: float, y0: float, side: float) -> list[tuple[float, float]] | None:
    """Vertices of a square or triangle in the box (x0, y0, side); None for a circle."""
    x1, y1 = x0 + side, y0 + side
    if shape == "square":
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if shape == "triangle":
        return [(x0 + side / 2, y0), (x1, y1), (x0, y1)]
    return None


def render(scene: Scene) -> Image.Image:
    """The scene as a 64x64 RGB picture (drawn at 4x and shrunk with Lanczos)."""
    k = SUPERSAMPLE
    big = Image.new("RGB", (SIZE * k, SIZE * k), COLORS[scene.background])
    draw = ImageDraw.Draw(big)
    x0, y0, side = scene.x0 * k, scene.y0 * k, scene.side * k
    fill = COLORS[scene.color]
    poly = shape_polygon(scene.shape, x0, y0, side)
    if poly is None:
        draw.ellipse([x0, y0, x0 + side - 1, y0 + side - 1], fill=fill)
    else:
        draw.polygon([(x, y) for x, y in poly], fill=fill)
    return big.resize((SIZE, SIZE), Image.LANCZOS)


def render_batch(scenes: Sequence[Scene]) -> np.ndarray:
    """``uint8 [N, 64, 64, 3]``."""
    return np.stack([np.asarray(render(s)) for s in scenes])


def random_batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[Scene]]:
    scenes = [random_scene(rng) for _ in range(n)]
    return render_batch(scenes), scenes


# --------------------------------------------------------------------------- judging
@dataclass(frozen=True)
class Verdict:
    background: str
    color: str | None  # None: no object found
    shape: str | None
    fill: float  # object pixels / bounding-box pixels
    ious: tuple[float, float, float]  # IoU with the circle, square and triangle templates


_PALETTE = np.array([COLORS[c] for c in COLOR_NAMES], dtype=np.float32)
_OBJECT_DISTANCE = 60.0  # RGB distance from the background beyond which a pixel is the object
_MIN_OBJECT_PIXELS = 40


def nearest_color(rgb) -> str:
    d = ((_PALETTE - np.asarray(rgb, dtype=np.float32)) ** 2).sum(axis=1)
    return COLOR_NAMES[int(d.argmin())]


def _templates(x0: int, y0: int, x1: int, y1: int, h: int, w: int) -> list[np.ndarray]:
    """Circle, square and triangle masks filling the box [x0, x1) x [y0, y1) (pixel centres)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    bw, bh = float(x1 - x0), float(y1 - y0)
    cx, cy = x0 + bw / 2, y0 + bh / 2
    circle = ((xs - cx) / (bw / 2)) ** 2 + ((ys - cy) / (bh / 2)) ** 2 <= 1.0
    square = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    # Upright triangle: apex at the top middle, base along the bottom.
    frac = (ys - y0) / bh  # 0 at the apex, 1 at the base
    triangle = square & (np.abs(xs - cx) <= frac * bw / 2)
    return [circle, square, triangle]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def _erode(mask: np.ndarray) -> np.ndarray:
    m = mask.copy()
    m[1:, :] &= mask[:-1, :]
    m[:-1, :] &= mask[1:, :]
    m[:, 1:] &= mask[:, :-1]
    m[:, :-1] &= mask[:, 1:]
    return m


def _box(mask: np.ndarray, min_count: int = 2) -> tuple[int, int, int, int] | None:
    """Bounding box of the rows/columns holding at least ``min_count`` object pixels (ignores specks)."""
    rows = np.nonzero(mask.sum(axis=1) >= min_count)[0]
    cols = np.nonzero(mask.sum(axis=0) >= min_count)[0]
    if len(rows) == 0 or len(cols) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def judge(image) -> Verdict:
    """Read background colour, object colour and shape from a picture (PIL image or HxWx3 array)."""
    a = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image, dtype=np.float32)
    h, w, _ = a.shape
    border = np.concatenate([a[:2].reshape(-1, 3), a[-2:].reshape(-1, 3), a[:, :2].reshape(-1, 3), a[:, -2:].reshape(-1, 3)])
    bg_rgb = np.median(border, axis=0)
    background = nearest_color(bg_rgb)
    dist = np.sqrt(((a - bg_rgb) ** 2).sum(axis=2))
    mask = dist > _OBJECT_DISTANCE
    mask[:2] = mask[-2:] = False  # shapes keep MARGIN px from the edge; decoders smear the outermost pixels
    mask[:, :2] = mask[:, -2:] = False
    box = _box(mask)
    if mask.sum() < _MIN_OBJECT_PIXELS or box is None:
        return Verdict(background, None, None, 0.0, (0.0, 0.0, 0.0))
    inner = _erode(mask)
    pixels = a[inner] if inner.sum() >= 10 else a[mask]
    color = nearest_color(np.median(pixels, axis=0))
    x0, y0, x1, y1 = box
    fill = float(mask[y0:y1, x0:x1].mean())
    ious = tuple(_iou(mask, t) for t in _templates(x0, y0, x1, y1, h, w))
    shape = SHAPES[int(np.argmax(ious))]
    return Verdict(background, color, shape, fill, ious)


@dataclass
class Adherence:
    n: int = 0
    background: int = 0
    color: int = 0
    shape: int = 0
    all_three: int = 0

    def add(self, want: tuple[str, str, str], got: Verdict) -> None:
        color, shape, background = want
        ok_background, ok_color, ok_shape = got.background == background, got.color == color, got.shape == shape
        ok = (ok_background, ok_color, ok_shape)
        self.n += 1
        self.background += ok_background
        self.color += ok_color
        self.shape += ok_shape
        self.all_three += all(ok)

    def rates(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {
            "background": self.background / n,
            "color": self.color / n,
            "shape": self.shape / n,
            "all": self.all_three / n,
        }

    def __str__(self) -> str:
        r = self.rates()
        return (f"background {r['background']:.0%}  object colour {r['color']:.0%}  "
                f"shape {r['shape']:.0%}  all three {r['all']:.0%}  (n={self.n})")


# --------------------------------------------------------------------------- sampling
def sample_batch(pipe, prompts: Sequence[str], seeds: Sequence[int], cfg: float, *, steps: int = 20,
                 sampler: str = "Euler a", size: int = SIZE) -> list:
    """Pictures for ``prompts`` in one batched pipeline call, image i from a CPU generator seeded ``seeds[i]``.

    The sampler is built as the app builds it (``core.generation.samplers``) from the
    model's own scheduler config; the default is the app's default (Euler a, 20 steps).
    """
    import copy

    import torch

    from core.generation.samplers import make_scheduler

    run = copy.copy(pipe)
    run.scheduler = make_scheduler(pipe.scheduler.config, sampler, "automatic")
    generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
    with torch.inference_mode():
        return run(prompt=list(prompts), width=size, height=size, num_inference_steps=steps,
                   guidance_scale=float(cfg), generator=generators, output_type="pil").images


def eval_adherence(pipe, seeds: Sequence[int] = (0, 1, 2, 3, 4), cfg: float = 7.0, **kwargs) -> "Adherence":
    """Adherence over ``EVAL_SCENES`` x ``seeds`` at ``cfg``."""
    prompts = [caption(*scene) for scene in EVAL_SCENES for _ in seeds]
    all_seeds = [s for _ in EVAL_SCENES for s in seeds]
    images = sample_batch(pipe, prompts, all_seeds, cfg, **kwargs)
    return score(images, [parse_caption(p) for p in prompts])


def score(images: Iterable, wants: Iterable[tuple[str, str, str]]) -> Adherence:
    """Adherence of ``images`` to ``wants`` (``(color, shape, background)`` each)."""
    result = Adherence()
    for image, want in zip(images, wants):
        result.add(want, judge(image))
    return result
