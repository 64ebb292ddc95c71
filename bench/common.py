"""What every measure shares: the result row, the workspace, statistics, alternation and the table.

Timings on a shared machine are noisy, so each measure runs its two sides
alternately (the order flips every round, so a drift in load hits both) and
reports medians or p95s of the samples of one run.
"""

from __future__ import annotations

import math
import statistics
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable


@dataclass
class Row:
    """One line of the table.  ``ratio`` is ours ÷ baseline (in ``unit``); ``met`` None: not decided."""

    measure: str
    ours: float | None
    baseline: float | None
    unit: str
    target: str
    met: bool | None
    ratio: float | None = None
    detail: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.ratio is None and self.ours is not None and self.baseline:
            self.ratio = self.ours / self.baseline

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Workspace:
    """The run's tmp folder, its size preset, and things several measures build once (the tiny model)."""

    root: Path
    quick: bool = False
    profiler: Callable | None = None  # (pid, label) -> context manager, when --profile is on

    def path(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @cached_property
    def tiny(self):
        """The tiny SD 1.x model of the tests (diffusers folder, single file + configs, LoRA)."""
        from tests.tiny_models import build_tiny_sd15

        return build_tiny_sd15(self.path("tiny"))

    def profiled(self, pid: int, label: str):
        """A profile of ``pid`` while the block runs (only with --profile)."""
        return self.profiler(pid, label) if self.profiler else nullcontext()


def quiet_diffusers() -> None:
    """No "Loading pipeline components" progress bars in this process's output."""
    from diffusers.utils import logging

    logging.disable_progress_bar()


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (wall clock)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(rounds: int, *sides: Callable[[], float]) -> list[list[float]]:
    """Run every side ``rounds`` times, alternately; the order is rotated every round.

    Each side returns its own sample (a duration, a throughput...); one list of samples per side.
    """
    samples: list[list[float]] = [[] for _ in sides]
    for index in range(rounds):
        for position in range(len(sides)):
            side = (position + index) % len(sides)
            samples[side].append(sides[side]())
    return samples


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned); TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached in {timeout:.0f} s")


def _cell(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def format_table(rows: list[Row]) -> str:
    """A Markdown table: measure, ours, baseline, ratio, target, met?"""
    header = ("measure", "ours", "baseline", "ratio", "target", "met?")
    def with_unit(value, unit):
        return "-" if value is None else f"{_cell(value)} {unit}".strip()

    lines = [(r.measure, with_unit(r.ours, r.unit), with_unit(r.baseline, r.unit),
              "-" if r.ratio is None else f"{r.ratio:.3g}×", r.target, _cell(r.met)) for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]

    def fmt(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *(fmt(line) for line in lines)])
